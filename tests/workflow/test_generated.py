"""The compiled schema behind `pipeline validate` (engine/workflow/generated.py): up to date with the
models, and giving exactly the diagnostics that validating with the models gives."""

from __future__ import annotations

import copy
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from engine.workflow import check_workflow, codegen, load_workflow, model, rules, workflow_files

from .conftest import REPO, SHARED_EXAMPLES
from .test_bad_files import BAD_FILES
from .test_hostile_files import HOSTILE


def test_generated_module_is_up_to_date():
    assert codegen.TARGET.read_text(encoding="utf-8") == codegen.render(), (
        "engine/workflow/generated.py is stale: run .venv/bin/python -m engine.workflow.codegen"
    )


def test_handler_option_keys_are_the_models_fields():
    assert {
        handler: tuple(options.model_fields) for handler, options in model.HANDLER_OPTION_MODELS.items()
    } == rules.HANDLER_OPTION_KEYS


def assert_same_diagnostics(path: Path) -> None:
    checked, loaded = check_workflow(path), load_workflow(path)
    assert checked.workflow is None
    assert checked.errors == loaded.errors
    assert checked.warnings == loaded.warnings


@pytest.mark.parametrize("text", [case[1] for case in BAD_FILES], ids=[case[0] for case in BAD_FILES])
def test_bad_files_give_the_same_diagnostics(tmp_path, text):
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    assert_same_diagnostics(path)


@pytest.mark.parametrize("content", [case[1] for case in HOSTILE], ids=[case[0] for case in HOSTILE])
def test_hostile_files_give_the_same_diagnostics(tmp_path, content):
    path = tmp_path / "hostile.yaml"
    path.write_bytes(content)
    assert_same_diagnostics(path)


def test_examples_give_the_same_diagnostics():
    paths = [*workflow_files(REPO / "workflows"), *sorted(SHARED_EXAMPLES.glob("*.yaml"))]
    for path in paths:
        assert_same_diagnostics(path)


# Every step type and most fields, so that a wrong value anywhere reaches the schema.
RICH = """\
workflow:
  name: rich
  description: every step type
  workspace_dir: ./workspace
  output_dir: ./outputs
  budget_usd: 2.5
  on_error: continue
  vars: {topic: streams, count: 3}
  defaults:
    model: claude-haiku-4-5
    preset: analysis
    claude_options:
      max_tokens: 2048
      stream_handler: [console, file]
      stream_handler_opts: {file: {path: out.txt, format: jsonl, max_bytes: 1000, backups: 2}}
      retry_config: {max_retries: 2, backoff: linear, base_delay_ms: 100, max_delay_ms: 1000}
  steps:
    - name: plain
      type: claude
      condition: "true"
      output_to_file: plain.md
      claude_options:
        max_turns: 3
        allowed_tools: [Read, Grep]
        disallowed_tools: Bash
        thinking: 1024
        timeout_seconds: 30
        idle_timeout_seconds: 10
        stop_on: ["(?i)done"]
        fallback_model: claude-haiku-4-5
        async_streaming: false
        stream_buffer_size: 5
        stream_flush_interval_ms: 50
        stream_handler_opts: {console: {show_tools: false, show_stats: true, color: false}}
      prompt:
        - {type: static, content: "About {{vars.topic}}"}
        - {type: file, path: README.md}
    - name: smart
      type: claude_smart
      preset: production
      prompt: [{type: previous_response, step: plain, extract: summary, strict: false}]
    - name: chat
      type: claude_session
      session_config: {session_name: s1, persist: true, continue_on_restart: false, max_turns_kept: 4}
      prompt: hello
    - name: recall
      type: claude_session
      session_config: {session_name: s2}
      prompt: [{type: session_context, session_name: s1, include_last_n: 2}, "and now?"]
    - name: extract
      type: claude_extract
      extraction_config: {format: json, post_processing: [trim], max_attempts: 2}
      prompt: "List {{steps.plain.text}}"
    - name: batch
      type: claude_batch
      batch_config: {max_parallel: 2, timeout_per_task_seconds: 30, consolidate_results: false}
      tasks:
        - {id: one, prompt: first, claude_options: {max_tokens: 64}}
        - {id: two, prompt: second}
    - name: items
      type: claude_batch
      items: [a, b]
      prompt: "Define {{item}}"
    - name: robust
      type: claude_robust
      retry_config:
        max_retries: 4
        backoff: fixed
        jitter: false
        retry_on: [timeout, overloaded]
      prompt: again
    - name: fan
      type: parallel_claude
      max_parallel: 2
      fail_fast: true
      parallel_tasks:
        - {id: left, prompt: one, output_to_file: left.md}
        - {id: right, prompt: two, claude_options: {stream_handler: buffer}}
"""

WRONG_VALUES: list[Any] = ["x", -1, 0.5, True, None, [1], {"k": 1}]


def _leaves(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _leaves(value, (*path, index))
    if path:
        yield path


def _replaced(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    result = copy.deepcopy(data)
    parent = result
    for part in path[:-1]:
        parent = parent[part]
    if value is _DELETE:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


_DELETE = object()


def test_rich_workflow_is_valid(tmp_path):
    path = tmp_path / "rich.yaml"
    path.write_text(RICH, encoding="utf-8")
    (tmp_path / "README.md").write_text("hi", encoding="utf-8")
    result = load_workflow(path)
    assert result.ok, "\n".join(map(str, result.errors))


def test_every_wrong_value_gives_the_same_diagnostics(tmp_path):
    """Each value of a rich workflow replaced by wrong values (two kinds per value, in turn, to keep the
    test quick; every kind reaches every part of the schema many times) and removed: the compiled schema
    must report what the models report, wherever the mistake is."""
    data = yaml.safe_load(RICH)
    path = tmp_path / "mutated.yaml"
    leaves = list(_leaves(data))
    for number, leaf in enumerate(leaves):
        kinds = [WRONG_VALUES[number % len(WRONG_VALUES)], WRONG_VALUES[(number + 3) % len(WRONG_VALUES)]]
        for value in [*kinds, _DELETE]:
            path.write_text(yaml.safe_dump(_replaced(data, leaf, value), sort_keys=False), encoding="utf-8")
            assert_same_diagnostics(path)
    assert len(leaves) > 140


def test_validate_never_builds_the_pydantic_models():
    """What keeps `pipeline validate` fast: no pydantic model machinery, no model classes."""
    code = textwrap.dedent(
        """
        import contextlib, io, sys
        from tui.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            main(["validate", "workflows/claude.yaml", "workflows/claude_batch.yaml"])
        print(sorted(name for name in ("pydantic.main", "engine.workflow.model") if name in sys.modules))
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
