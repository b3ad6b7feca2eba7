"""What `pipeline validate` accepts, `pipeline run` runs; what it refuses, run refuses with the same
line. Conditions, templates and the loaded YAML, through both commands."""

from __future__ import annotations

import pytest

from engine.conditions import ConditionError, parse_condition
from tests.engine.cli_support import error_line, last_run, run, validate
from tests.engine.conftest import workflow


def two_steps(condition: str) -> str:
    return f"""
    - {{name: first, type: claude, prompt: hi}}
    - name: second
      type: claude
      condition: {condition}
      prompt: again
    """


@pytest.mark.parametrize(
    ("condition", "words"),
    [
        ("\"len(steps.first.text) > 3\"", "function calls"),
        ("\"steps.first.data.count + 1 > 2\"", "arithmetic"),
        ("\"steps.first.data.items[0]\"", "indexing"),
        ("\"" + "not " * 50_000 + "steps.first.text\"", "conditions are limited to 2000"),
        ("\"" + "not " * 100 + "steps.first.text\"", "nested more than 32 levels"),
        ("\"" + "[" * 40 + "1" + "]" * 40 + " in steps.first.data.x\"", "nested more than 32 levels"),
    ],
    ids=["call", "arithmetic", "subscript", "50000-nots", "100-nots", "nested-lists"],
)
def test_a_condition_the_run_would_refuse_is_refused_by_validate_with_the_same_text(
    tmp_path, condition, words
):
    flow = tmp_path / "w.yaml"
    flow.write_text(workflow(two_steps(condition), tmp=tmp_path), encoding="utf-8")
    with pytest.raises(ConditionError) as refused:
        parse_condition(condition.strip('"'))  # what the run says
    lines = []
    for done in (validate(tmp_path, flow), run(tmp_path, flow)):
        assert done.returncode == 2, done.stdout + done.stderr
        lines.append(error_line(done))
    assert lines[0] == lines[1]
    assert str(refused.value) in lines[0] and words in lines[0], lines[0]
    assert len(lines[0]) < 400  # one readable line, not the condition repeated
    assert not (tmp_path / "outputs").exists()


def test_a_condition_that_cannot_be_evaluated_fails_its_step_with_the_reason(tmp_path):
    flow = tmp_path / "w.yaml"
    flow.write_text(workflow(two_steps("\"steps.first.text > 3\""), tmp=tmp_path), encoding="utf-8")
    assert validate(tmp_path, flow).returncode == 0
    done = run(tmp_path, flow)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr
    error = last_run(tmp_path / "outputs")["steps"]["second"]["error"]
    assert "cannot be evaluated" in error, error


def test_a_template_validate_leaves_as_is_is_left_as_is_by_the_run(tmp_path):
    flow = tmp_path / "w.yaml"
    steps = """
    - name: a
      type: claude
      prompt: "Fill the {{ placeholder }} in, and the {{ other.thing }} too"
    """
    flow.write_text(workflow(steps, tmp=tmp_path), encoding="utf-8")
    checked = validate(tmp_path, flow)
    assert checked.returncode == 0 and checked.stdout.count("is left as is") == 2, checked.stdout
    done = run(tmp_path, flow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_run(tmp_path / "outputs")["steps"]["a"]["status"] == "succeeded"


def test_aliases_that_expand_past_the_cap_are_refused_in_one_line(tmp_path):
    # 40 uses of a 1 MB string are 40 MB of text from a 1 MB file (nested aliases: gigabytes).
    flow = tmp_path / "w.yaml"
    big = "x" * 1_000_000
    flow.write_text(
        f"long: &long {big}\n"
        "workflow:\n"
        "  name: bomb\n"
        f"  output_dir: {tmp_path / 'outputs'}\n"
        "  steps:\n"
        "    - name: a\n"
        "      type: claude\n"
        "      prompt: [" + ", ".join(["*long"] * 40) + "]\n",
        encoding="utf-8",
    )
    for done in (validate(tmp_path, flow), run(tmp_path, flow)):
        assert done.returncode == 2, done.stdout + done.stderr
        line = error_line(done)
        assert "expands to more than 16 MiB" in line and len(line) < 400, line
    assert not (tmp_path / "outputs").exists()
