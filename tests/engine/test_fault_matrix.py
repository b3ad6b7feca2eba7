"""The fault matrix: every simulator fault against every step type, once (retried: the text is byte
for byte the fault-free text) and always (the step ends failed or interrupted, cleanly, with no
text twice), through the real engine, SDK and simulator."""

from __future__ import annotations

import json

import pytest

from engine.workflow.registry import STEP_TYPES
from tests.engine.conftest import workflow
from tests.engine.test_retries import FAULTS

REPLY = "".join(f"Line {n} of the one answer every attempt gives, streamed in chunks.\n" for n in range(12))


def options(fault: str, retries: int = 1) -> str:
    # Only the stall needs a short idle timeout to end; for the others a short one would turn a slow
    # first token on a loaded machine into a second fault.
    idle = 0.4 if fault == "stall" else 30
    return (
        f"{{stream_handler: [file, buffer], idle_timeout_seconds: {idle}, "
        f"retry_config: {{max_retries: {retries}, base_delay_ms: 1, max_delay_ms: 5}}}}"
    )

# One small step of each built-in type; its stream files, by step id.
STEPS = {
    "claude": ("{name: s, type: claude, prompt: hi, claude_options: %s}", ["s"]),
    "claude_smart": ("{name: s, type: claude_smart, preset: chat, prompt: hi, claude_options: %s}", ["s"]),
    "claude_robust": ("{name: s, type: claude_robust, prompt: hi, claude_options: %s}", ["s"]),
    "claude_session": (
        "{name: s, type: claude_session, session_config: {session_name: m}, prompt: hi, claude_options: %s}",
        ["s"],
    ),
    "claude_extract": (
        "{name: s, type: claude_extract, extraction_config: {format: text}, prompt: hi, claude_options: %s}",
        ["s"],
    ),
    "claude_batch": (
        "{name: s, type: claude_batch, items: [a, b], prompt: 'do {{item}}', claude_options: %s}",
        ["s.item-1", "s.item-2"],
    ),
    "parallel_claude": (
        "{name: s, type: parallel_claude, claude_options: %s, parallel_tasks: [{id: a, prompt: one}, "
        "{id: b, prompt: two}]}",
        ["s.a", "s.b"],
    ),
}


def test_the_matrix_covers_every_registered_step_type():
    assert set(STEPS) == set(STEP_TYPES)


def _run_record(result) -> dict:  # type: ignore[no-untyped-def]
    return json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step_type", STEPS)
async def test_a_fault_once_is_retried_to_the_fault_free_text(harness_factory, tmp_path, step_type, fault):
    template, stream_ids = STEPS[step_type]
    rules = [{"times": 1, "reply": REPLY, **FAULTS[fault]}, {"reply": REPLY}]
    async with harness_factory({"rules": rules}) as h:
        # A spare retry: on a loaded machine a second, unscripted hiccup must not fail the matrix.
        result = await h.run(workflow(f"    - {template % options(fault, retries=2)}\n", tmp=tmp_path))
    assert result.status == "succeeded", (result.reason, {k: v.error for k, v in result.tasks.items()})
    for stream_id in stream_ids:
        streamed = (result.run_dir / "streams" / f"{stream_id}.txt").read_bytes().decode("utf-8")
        assert streamed == REPLY, stream_id
    assert _run_record(result)["status"] == "succeeded"


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("step_type", STEPS)
async def test_a_fault_always_ends_the_step_cleanly_with_no_text_twice(
    harness_factory, tmp_path, step_type, fault
):
    template, stream_ids = STEPS[step_type]
    async with harness_factory({"rules": [{"reply": REPLY, **FAULTS[fault]}]}) as h:
        result = await h.run(workflow(f"    - {template % options(fault)}\n", tmp=tmp_path))
    step = result.steps["s"]
    expected = "interrupted" if fault == "stall" else "failed"  # a stall is the idle-timeout guard
    assert step.status == expected, (step.reason, step.error)
    assert result.exit_code == (3 if fault == "stall" else 1)
    for stream_id in stream_ids:
        path = result.run_dir / "streams" / f"{stream_id}.txt"
        streamed = path.read_bytes().decode("utf-8") if path.exists() else ""
        assert REPLY.startswith(streamed), stream_id  # only the last attempt's partial text
    record = _run_record(result)
    assert record["status"] == result.status and record["steps"]["s"]["status"] == expected
