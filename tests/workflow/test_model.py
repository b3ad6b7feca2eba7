"""The loaded model: immutable, defaults and presets merged under each step (the step wins, lists too)."""

from __future__ import annotations

import pydantic
import pytest

from engine.workflow import parse_workflow
from engine.workflow.model import ClaudeOptions, StaticPart
from engine.workflow.presets import PRESET_MODELS


def _load(text: str, **kwargs):
    result = parse_workflow(text, **kwargs)
    assert result.ok, "\n".join(map(str, result.errors))
    return result.workflow


def test_plain_strings_become_parts_and_tuples():
    workflow = _load(
        "workflow:\n  name: w\n  steps:\n"
        "    - {name: a, type: claude, prompt: hi, claude_options: {stream_handler: file, stop_on: 'x+'}}\n"
    )
    step = workflow.steps[0]
    assert step.prompt == (StaticPart(type="static", content="hi"),)
    assert step.claude_options.stream_handler == ("file",)
    assert step.claude_options.stop_on == ("x+",)
    assert workflow.workspace_dir == "./workspace" and workflow.output_dir == "./outputs"
    assert workflow.on_error == "stop" and workflow.budget_usd is None


def test_models_are_frozen():
    workflow = _load("workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi}\n")
    with pytest.raises(pydantic.ValidationError):
        workflow.steps[0].claude_options.max_tokens = 1  # type: ignore[misc]


def test_defaults_merge_under_the_step_and_the_step_wins_lists_included():
    workflow = _load(
        """\
workflow:
  name: w
  defaults:
    model: claude-opus-4-1
    claude_options:
      max_tokens: 2000
      allowed_tools: [Read, Grep]
      retry_config: {max_retries: 4, backoff: linear}
      stream_handler_opts: {file: {format: jsonl, append: true}}
  steps:
    - name: a
      type: claude
      claude_options:
        allowed_tools: [Write]
        retry_config: {max_retries: 1}
        stream_handler_opts: {file: {append: false}}
      prompt: hi
    - {name: b, type: claude, prompt: hi}
"""
    )
    a, b = (step.claude_options for step in workflow.steps)
    assert a.model == "claude-opus-4-1" and a.max_tokens == 2000
    assert a.allowed_tools == ("Write",)
    assert (a.retry_config.max_retries, a.retry_config.backoff) == (1, "linear")
    assert a.handler_opts("file") == {"format": "jsonl", "append": False}
    assert b.allowed_tools == ("Read", "Grep") and b.retry_config.max_retries == 4


def test_preset_supplies_defaults_and_the_user_wins():
    workflow = _load(
        """\
workflow:
  name: w
  defaults: {preset: development}
  steps:
    - name: a
      type: claude_smart
      claude_options: {allowed_tools: [Read], max_turns: 2}
      prompt: hi
    - {name: b, type: claude_smart, preset: production, prompt: hi}
"""
    )
    a, b = workflow.steps
    assert a.preset == "development"
    assert a.claude_options.allowed_tools == ("Read",) and a.claude_options.max_turns == 2
    assert a.claude_options.timeout_seconds == 300 and a.claude_options.retry_config.max_retries == 3
    assert a.claude_options.model == PRESET_MODELS["development"]
    assert b.claude_options.max_turns == 10 and b.claude_options.retry_config.backoff == "linear"
    assert b.claude_options.fallback_model


def test_flat_handler_options_reach_every_handler_that_knows_them():
    workflow = _load(
        """\
workflow:
  name: w
  steps:
    - name: a
      type: claude
      claude_options:
        stream_handler: [console, file, buffer]
        stream_handler_opts: {show_tools: false, path: out.jsonl, format: jsonl, max_bytes: 1000}
      prompt: hi
"""
    )
    options = workflow.steps[0].claude_options
    assert options.handler_opts("console") == {"show_tools": False}
    assert options.handler_opts("file") == {"path": "out.jsonl", "format": "jsonl", "max_bytes": 1000}
    assert options.handler_opts("buffer") == {"max_bytes": 1000}
    assert options.handler_opts("callback") == {}


def test_claude_options_built_in_code_accepts_flat_handler_options():
    options = ClaudeOptions(stream_handler="file", stream_handler_opts={"path": "x.txt", "show_stats": True})
    assert options.stream_handler == ("file",)
    assert options.handler_opts("file") == {"path": "x.txt"}
    assert options.handler_opts("console") == {"show_stats": True}


def test_command_line_vars_win_over_workflow_vars():
    workflow = _load(
        "workflow:\n  name: w\n  vars: {topic: a, count: 3}\n  steps:\n"
        "    - {name: a, type: claude, prompt: '{{vars.topic}} {{vars.extra}}'}\n",
        vars={"topic": "b", "extra": "c"},
    )
    assert workflow.vars == {"topic": "b", "count": "3", "extra": "c"}


def test_missing_var_is_an_error_until_given_on_the_command_line():
    text = "workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: '{{vars.who}}'}\n"
    assert not parse_workflow(text).ok
    assert parse_workflow(text, vars={"who": "x"}).ok


def test_parallel_tasks_get_the_step_options_under_their_own():
    workflow = _load(
        """\
workflow:
  name: w
  steps:
    - name: p
      type: parallel_claude
      claude_options: {max_tokens: 100, stream_handler: [console, file]}
      parallel_tasks:
        - {id: one, prompt: a, claude_options: {max_tokens: 50}}
        - {id: two, prompt: b, output_to_file: two.md}
"""
    )
    one, two = workflow.steps[0].parallel_tasks
    assert one.claude_options.max_tokens == 50 and one.claude_options.stream_handler == ("console", "file")
    assert two.claude_options.max_tokens == 100 and two.output_to_file == "two.md"


def test_batch_items_are_text():
    workflow = _load(
        "workflow:\n  name: w\n  steps:\n"
        "    - {name: b, type: claude_batch, items: [1, two, 3.5], prompt: 'Define {{item}}'}\n"
    )
    assert workflow.steps[0].items == ("1", "two", "3.5")


def test_yaml_merge_keys_work_and_explicit_keys_win():
    workflow = _load(
        """\
workflow:
  name: w
  steps:
    - &base {name: a, type: claude, prompt: hi, claude_options: {max_tokens: 10}}
    - <<: *base
      name: b
"""
    )
    assert [step.name for step in workflow.steps] == ["a", "b"]
    assert workflow.steps[1].claude_options.max_tokens == 10
