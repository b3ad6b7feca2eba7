"""Every way to stop a step early closes the HTTP stream at once and keeps what was streamed."""

from __future__ import annotations

import asyncio

from engine.events import Interrupted, StepFinished, TextDelta
from tests.engine.conftest import workflow

LONG = {"answer_tokens": 2000}  # about 20 s at 100 tokens/s: every test stops it long before the end


def two_steps(options: str = "", on_error: str = "stop") -> str:
    return (
        f"""
    - name: long
      type: claude
      claude_options:
        stream_handler: [file, buffer]
        {options}
      prompt: "Write a long essay about rivers"
    - name: after
      type: claude
      claude_options: {{stream_handler: buffer}}
      prompt: "Say hello"
    """,
        f"on_error: {on_error}\n",
    )


async def wait_for_text(h, step_id: str, chunks: int = 10) -> None:
    for _ in range(500):
        if len(h.of(TextDelta, step_id)) >= chunks:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{step_id} streamed no text")


async def assert_stopped_cleanly(h, result, reason_part: str) -> None:
    step = result.steps["long"]
    assert step.status == "interrupted", (step.status, step.reason, step.error)
    assert reason_part in step.reason
    [interrupted] = h.of(Interrupted, "long")
    assert reason_part in interrupted.reason
    # The partial text is kept, and the file handler was flushed with all of it.
    streamed = "".join(e.text for e in h.of(TextDelta, "long"))
    assert streamed and step.text == streamed
    assert (result.run_dir / "streams" / "long.txt").read_text(encoding="utf-8") == streamed
    # The simulator saw the client hang up, and sent nothing more than what arrived (give or take
    # what was already in flight on the socket).
    await h.sim.wait_for_requests(1, timeout=5)
    record = h.sim.log[0]
    assert record.hung_up
    assert record.output_tokens < 2000
    assert record.output_tokens - len(h.of(TextDelta, "long")) <= 20


async def test_the_run_handle_interrupts_one_step(harness_factory, tmp_path):
    steps, extra = two_steps(on_error="continue")
    async with harness_factory(
        {"rules": [{"prompt_contains": "rivers", **LONG}]}, tokens_per_second=100
    ) as h:
        handle, _ = h.start(workflow(steps, extra=extra, tmp=tmp_path))
        await wait_for_text(h, "long")
        assert handle.interrupt("long", "looks wrong")
        result = await handle
        await assert_stopped_cleanly(h, result, "looks wrong")
    # on_error: continue -> the next step still ran.
    assert result.steps["after"].status == "succeeded"
    assert result.status == "succeeded"


async def test_interrupt_all_stops_the_run(harness_factory, tmp_path):
    steps, extra = two_steps()
    async with harness_factory(
        {"rules": [{"prompt_contains": "rivers", **LONG}]}, tokens_per_second=100
    ) as h:
        handle, _ = h.start(workflow(steps, extra=extra, tmp=tmp_path))
        await wait_for_text(h, "long")
        handle.interrupt_all("stop everything")
        result = await handle
        await assert_stopped_cleanly(h, result, "stop everything")
    assert result.status == "interrupted" and result.exit_code == 130
    assert result.steps["after"].status == "skipped"
    assert len(h.sim.log) == 1  # the second step never called the API


async def test_stop_on_matches_across_chunk_boundaries(harness_factory, tmp_path):
    reply = "All good so far.\n" * 5 + "Then: FATAL ERROR in module x.\n" + "More text.\n" * 500
    steps, extra = two_steps(options="stop_on: ['FATAL\\s+ERROR']")
    async with harness_factory(
        {"rules": [{"prompt_contains": "rivers", "reply": reply}]}, tokens_per_second=200
    ) as h:
        result = await h.run(workflow(steps, extra=extra, tmp=tmp_path))
        await assert_stopped_cleanly(h, result, "stop_on")
        chunks = [e.text for e in h.of(TextDelta, "long")]
    assert not any("FATAL ERROR" in chunk for chunk in chunks), "the phrase must span chunks for this test"
    # The kept text is what streamed, up to the chunk that completed the match and no further.
    text = result.steps["long"].text
    assert reply.startswith(text) and text.rstrip().endswith("FATAL ERROR")
    assert result.steps["after"].status == "skipped"  # on_error: stop


async def test_timeout_seconds_interrupts_a_long_step(harness_factory, tmp_path):
    steps, extra = two_steps(options="timeout_seconds: 0.5")
    async with harness_factory(
        {"rules": [{"prompt_contains": "rivers", **LONG}]}, tokens_per_second=100
    ) as h:
        result = await h.run(workflow(steps, extra=extra, tmp=tmp_path))
        await assert_stopped_cleanly(h, result, "timeout")


async def test_idle_timeout_interrupts_a_stalled_stream(harness_factory, tmp_path):
    steps, extra = two_steps(options="idle_timeout_seconds: 0.3\n        retry_config: {max_retries: 0}")
    rule = {"prompt_contains": "rivers", "fault": "stall", "after_tokens": 15, "seconds": 30, **LONG}
    async with harness_factory({"rules": [rule]}, tokens_per_second=200) as h:
        result = await h.run(workflow(steps, extra=extra, tmp=tmp_path))
        await assert_stopped_cleanly(h, result, "idle")
    assert len(h.of(TextDelta, "long")) == 15


async def test_budget_interrupts_the_run_when_spent(harness_factory, tmp_path):
    steps, extra = two_steps()
    # At $15 per million output tokens, $0.003 is spent after about 200 tokens.
    async with harness_factory(
        {"rules": [{"prompt_contains": "rivers", **LONG}]}, tokens_per_second=400
    ) as h:
        result = await h.run(workflow(steps, extra=extra + "budget_usd: 0.003\n", tmp=tmp_path))
        await assert_stopped_cleanly(h, result, "budget")
    assert result.status == "interrupted"
    assert result.steps["after"].status == "skipped"
    [finished] = h.of(StepFinished, "long")
    assert finished.metrics.cost_usd >= 0.003


async def test_stop_on_also_guards_a_non_streaming_step(harness_factory, tmp_path):
    steps, extra = two_steps(options="stop_on: ['FATAL']\n        async_streaming: false")
    async with harness_factory({"rules": [{"prompt_contains": "rivers", "reply": "ok\nFATAL: bad\n"}]}) as h:
        result = await h.run(workflow(steps, extra=extra, tmp=tmp_path))
    assert result.steps["long"].status == "interrupted"
    assert "stop_on" in result.steps["long"].reason
    assert result.steps["long"].text == "ok\nFATAL: bad\n"
