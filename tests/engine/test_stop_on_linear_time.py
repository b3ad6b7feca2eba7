"""stop_on patterns are matched in linear time (RE2): a pattern that makes Python's `re` backtrack for
ever cannot freeze the event loop, and what RE2 refuses is refused by validate, one line each."""

from __future__ import annotations

import json

import pytest

from engine.meter import StepMeter, StopRequested
from tests.engine.cli_support import error_line, last_run, run, validate
from tests.engine.conftest import workflow

# With `re`, one search of `(a+)+$` over 30 a's and a `b` takes about 2**30 steps (minutes); the test
# has a tighter timeout than the suite's so that a regression fails fast.
CATASTROPHIC = "(a+)+$"


@pytest.mark.timeout(30)
def test_a_backtracking_pattern_against_a_long_stream_returns():
    meter = StepMeter([CATASTROPHIC])
    for _ in range(2_000):  # about 62 kB, every window ending in `b`: never a match
        meter.on_text("a" * 30 + "b")
    with pytest.raises(StopRequested, match=r"stop_on /\(a\+\)\+\$/ matched 'a+'"):
        meter.on_text("aaa")


def test_flags_and_matches_across_chunks_still_work():
    meter = StepMeter([r"(?i)fatal\s+error"])
    meter.on_text("all fine so far. Fatal ")
    with pytest.raises(StopRequested, match="'Fatal ERROR'"):
        meter.on_text("ERROR in module x")


@pytest.mark.timeout(90)
def test_a_run_with_a_catastrophic_stop_on_pattern_finishes(tmp_path):
    flow = tmp_path / "w.yaml"
    steps = """
    - name: a
      type: claude
      claude_options: {stop_on: ['(a+)+c']}
      prompt: go
    """
    flow.write_text(workflow(steps, tmp=tmp_path), encoding="utf-8")
    # Word-sized chunks of runs of 40 a's: every window holds such runs and never a `c`.
    reply = " ".join(["a" * 40 + "b"] * 300)
    (tmp_path / "w.scenario.yaml").write_text(f"rules:\n  - reply: {json.dumps(reply)}\n", encoding="utf-8")
    done = run(tmp_path, flow)
    assert done.returncode == 0, done.stdout + done.stderr
    assert last_run(tmp_path / "outputs")["steps"]["a"]["status"] == "succeeded"


@pytest.mark.parametrize(
    ("pattern", "construct"),
    [
        (r"(a)\1", "backreferences"),
        ("(?=x)a", "lookahead"),
        ("(?<!x)a", "negative lookbehind"),
        ("a++", "possessive quantifiers"),
        (r"end\Z", r"\z for the end"),
    ],
)
def test_validate_names_the_construct_re2_refuses(tmp_path, pattern, construct):
    flow = tmp_path / "w.yaml"
    steps = f"""
    - name: a
      type: claude
      claude_options: {{stop_on: [{json.dumps(pattern)}]}}
      prompt: go
    """
    flow.write_text(workflow(steps, tmp=tmp_path), encoding="utf-8")
    for done in (validate(tmp_path, flow), run(tmp_path, flow)):
        assert done.returncode == 2
        line = error_line(done)
        assert construct in line and repr(pattern) in line and "linear time" in line, line
    assert not (tmp_path / "outputs").exists()  # nothing ran


def test_an_invalid_pattern_is_still_called_invalid(tmp_path):
    flow = tmp_path / "w.yaml"
    steps = """
    - {name: a, type: claude, prompt: go, claude_options: {stop_on: ['(unclosed']}}
    """
    flow.write_text(workflow(steps, tmp=tmp_path), encoding="utf-8")
    done = validate(tmp_path, flow)
    assert done.returncode == 2
    assert "not a valid regular expression: missing )" in error_line(done)
