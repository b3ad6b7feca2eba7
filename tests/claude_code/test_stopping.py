"""Stopping a Claude Code step (the stop key, stop_on) ends the agent and keeps the partial text."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

from engine.events import Interrupted, TextDelta
from tests.claude_code.conftest import workflow
from tests.claude_code.test_executor import agent_step

LONG = {"rules": [{"prompt_contains": "rivers", "answer_tokens": 3000}]}  # ~30 s at 100 tokens/s
# A bound, not a timing assertion: far above the ~1 s interrupt grace, far below the 30 s answer.
ENDS_WITHIN_S = 15


async def wait_for_text(h, step_id: str, chunks: int = 10) -> None:
    async with asyncio.timeout(60):
        while len(h.of(TextDelta, step_id)) < chunks:
            await asyncio.sleep(0.02)


async def assert_stopped_with_partial_text(h, result, reason_part: str) -> None:
    step = result.steps["agent"]
    assert step.status == "interrupted", (step.status, step.reason, step.error)
    assert reason_part in step.reason
    [interrupted] = h.of(Interrupted, "agent")
    assert reason_part in interrupted.reason
    streamed = "".join(e.text for e in h.of(TextDelta, "agent"))
    assert streamed and step.text == streamed
    assert (result.run_dir / "streams" / "agent.txt").read_text(encoding="utf-8") == streamed
    # The agent's model call was cut off long before its end: the CLI hung up on the simulator.
    [call] = [record for record in h.sim.log if record.path == "/v1/messages"]
    assert call.hung_up and call.output_tokens < 3000


async def test_the_stop_key_interrupts_the_agent(harness_factory, tmp_path):
    async with harness_factory(LONG, tokens_per_second=100) as h:
        handle, _ = h.start(workflow(agent_step("Tell me about rivers at length"), tmp=tmp_path))
        await wait_for_text(h, "agent")
        assert handle.interrupt("agent", "looks wrong")
        async with asyncio.timeout(ENDS_WITHIN_S):
            result = await handle
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "looks wrong")


async def test_stop_on_ends_the_agent(harness_factory, tmp_path):
    options = "stop_on: ['\\w{3,}']"
    async with harness_factory(LONG, tokens_per_second=100) as h:
        handle, _ = h.start(workflow(agent_step("Tell me about rivers at length", options), tmp=tmp_path))
        async with asyncio.timeout(60):
            result = await handle
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "stop_on")


async def test_interrupt_all_stops_the_agent_and_the_run(harness_factory, tmp_path):
    """What Ctrl+C and a SIGTERM do to a run: every step is interrupted."""
    async with harness_factory(LONG, tokens_per_second=100) as h:
        handle, _ = h.start(workflow(agent_step("Tell me about rivers at length"), tmp=tmp_path))
        await wait_for_text(h, "agent")
        handle.interrupt_all("stop everything")
        async with asyncio.timeout(ENDS_WITHIN_S):
            result = await handle
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "stop everything")
    assert result.status == "interrupted" and result.exit_code == 130


async def test_timeout_seconds_ends_the_agent(harness_factory, tmp_path):
    options = "timeout_seconds: 8"  # room for the CLI to start and stream, well before the 30 s answer
    async with harness_factory(LONG, tokens_per_second=100) as h:
        result = await h.run(workflow(agent_step("Tell me about rivers at length", options), tmp=tmp_path))
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "timeout")


async def test_idle_timeout_ends_a_stalled_agent(harness_factory, tmp_path):
    rule = {"prompt_contains": "rivers", "fault": "stall", "after_tokens": 40, "seconds": 30}
    options = "idle_timeout_seconds: 1.5"
    scenario = {"rules": [{**LONG["rules"][0], **rule}]}
    async with harness_factory(scenario, tokens_per_second=200) as h:
        result = await h.run(workflow(agent_step("Tell me about rivers at length", options), tmp=tmp_path))
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "idle")


async def test_the_run_budget_ends_the_agent(harness_factory, tmp_path):
    # Claude Code's first call sends ~12k input tokens ($0.037 for Sonnet); $0.06 is spent ~1000 tokens on.
    async with harness_factory(LONG, tokens_per_second=400) as h:
        steps = agent_step("Tell me about rivers at length")
        result = await h.run(workflow(steps, extra="budget_usd: 0.06\n", tmp=tmp_path))
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "budget")
    assert result.status == "interrupted"


def cli_children() -> list[int]:
    """The Claude Code CLI processes this test process started."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == os.getpid() and "claude" in (stat.parent / "cmdline").read_text():
                found.append(int(stat.parent.name))
    return found


async def test_an_agent_that_does_not_stop_is_killed(harness_factory, tmp_path):
    async with harness_factory(LONG, tokens_per_second=100) as h:
        handle, _ = h.start(workflow(agent_step("Tell me about rivers at length"), tmp=tmp_path))
        await wait_for_text(h, "agent")
        [cli] = cli_children()
        os.kill(cli, signal.SIGSTOP)  # it can neither answer interrupt() nor exit on its own now
        assert handle.interrupt("agent", "looks wrong")
        async with asyncio.timeout(ENDS_WITHIN_S):
            result = await handle
        await h.sim.wait_for_requests(1, timeout=5)
        await assert_stopped_with_partial_text(h, result, "looks wrong")
    assert not Path(f"/proc/{cli}").exists()  # killed and reaped
