"""`pipeline schema`, `validate` and `list` as a user runs them: output, exit codes, start-up imports."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import yaml
from jsonschema import Draft202012Validator

from engine.workflow import workflow_files

from .conftest import REPO
from .test_bad_files import BAD_FILES


def pipeline(*args: str, cwd=REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args], capture_output=True, text=True, timeout=60, cwd=cwd
    )


@pytest.fixture(scope="module")
def schema() -> dict:
    done = pipeline("schema")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_schema_is_a_valid_draft_2020_12_schema_with_descriptions(schema):
    Draft202012Validator.check_schema(schema)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    for name, definition in schema["$defs"]["ClaudeOptions"]["properties"].items():
        assert definition.get("description"), name


def test_schema_accepts_every_example(schema):
    validator = Draft202012Validator(schema)
    for path in workflow_files(REPO / "workflows"):
        errors = list(validator.iter_errors(yaml.safe_load(path.read_text())))
        assert errors == [], f"{path.name}: {errors[0].message}"


# Bad files whose mistake is visible to a schema (not references between steps or files).
SCHEMA_REJECTS = [
    "misspelt-option", "misspelt-handler", "misspelt-step-type", "gemini-step", "step-without-name",
    "workflow-without-steps", "empty-steps", "keys-outside-workflow", "unknown-tool",
    "stream-buffer-size-zero",
    "negative-budget", "bad-on-error", "misspelt-preset", "misspelt-backoff", "misspelt-prompt-part-type",
    "misspelt-file-handler-option", "name-is-a-boolean",
]


@pytest.mark.parametrize("case", SCHEMA_REJECTS)
def test_schema_rejects_bad_files(schema, case):
    text = next(entry[1] for entry in BAD_FILES if entry[0] == case)
    assert not Draft202012Validator(schema).is_valid(yaml.safe_load(textwrap.dedent(text)))


def test_validate_exit_codes_and_one_line_per_problem(tmp_path):
    good = REPO / "workflows" / "claude.yaml"
    bad = tmp_path / "bad.yaml"
    bad.write_text("workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi,"
                   " claude_options: {stream_handlr: console}}\n")
    ok = pipeline("validate", str(good))
    assert (ok.returncode, ok.stdout) == (0, f"{good}: ok\n")
    failed = pipeline("validate", str(good), str(bad))
    assert failed.returncode == 2
    assert failed.stdout.splitlines() == [
        f"{good}: ok",
        f"{bad}:4:60: steps[0].claude_options.stream_handlr: unknown key 'stream_handlr'; "
        "did you mean 'stream_handler'?",
        f"{bad}: 1 error",
    ]


def test_validate_warnings_still_exit_0(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi,"
                    " claude_options: {verbose: true}}\n")
    done = pipeline("validate", str(flow))
    assert done.returncode == 0
    assert done.stdout.splitlines()[-1] == f"{flow}: ok, 1 warning"


def test_validate_takes_vars(tmp_path):
    flow = tmp_path / "flow.yaml"
    flow.write_text("workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: '{{vars.who}}'}\n")
    assert pipeline("validate", str(flow)).returncode == 2
    assert pipeline("validate", str(flow), "--var", "who=me").returncode == 0
    bad_var = pipeline("validate", str(flow), "--var", "no-equals-sign")
    assert bad_var.returncode == 2 and "expected NAME=VALUE" in bad_var.stderr


def test_validate_without_files_is_a_usage_error():
    assert pipeline("validate").returncode == 2


def test_list_shows_name_steps_types_and_description(tmp_path):
    done = pipeline("list")
    assert done.returncode == 0
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["FILE", "NAME", "STEPS", "TYPES", "STATUS", "DESCRIPTION"]
    streaming = next(row for row in rows if row.startswith("streaming_example.yaml"))
    assert streaming.split() == ["streaming_example.yaml", "streaming_example", "1", "claude", "ok"]
    assert len(rows) == len(workflow_files(REPO / "workflows"))
    broken = "workflow:\n  name: broken\n  steps:\n    - {name: a, type: gemini}\n"
    (tmp_path / "broken.yaml").write_text(broken)
    listed = pipeline("list", str(tmp_path))
    assert listed.returncode == 0 and "1 error" in listed.stdout and "broken" in listed.stdout
    assert pipeline("list", str(tmp_path / "nowhere")).returncode == 2


@pytest.mark.parametrize(
    "command", [["validate", "workflows/claude.yaml"], ["schema"], ["list"], ["--version"]]
)
def test_commands_never_import_textual_the_sdk_or_the_engine(command):
    """`import anthropic` alone costs about 1.5 s here: these commands must start without it."""
    code = textwrap.dedent(
        f"""
        import contextlib, io, sys
        from tui.cli import main
        with contextlib.redirect_stdout(io.StringIO()):
            try:
                main({command!r})
            except SystemExit:
                pass
        heavy = ("textual", "anthropic", "engine.runner", "engine.steps", "engine.claude", "engine.handlers")
        print([name for name in heavy if name in sys.modules])
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=60)
    assert done.stdout.strip() == "[]", done.stderr
