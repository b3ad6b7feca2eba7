"""Steps with `executor: claude_code`: the real CLI, driven by the engine, against the simulator."""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path

from engine.events import Retrying, StepFinished, TextDelta, ThinkingDelta, ToolCall, ToolResult, Usage
from tests.claude_code.conftest import workflow

MODEL = "claude-sonnet-4-6"


def agent_step(prompt: str, options: str = "", name: str = "agent") -> str:
    return f"""
    - name: {name}
      type: claude
      claude_options:
        executor: claude_code
        model: {MODEL}
        stream_handler: [file, buffer]
        {options}
      prompt: "{prompt}"
    """


async def test_a_plain_step_streams_into_the_file_handler(harness_factory, tmp_path):
    scenario = {"rules": [{"prompt_contains": "delta", "answer_tokens": 600}]}  # ~3 s at 200 tokens/s
    async with harness_factory(scenario, tokens_per_second=200) as h:
        handle, runner = h.start(workflow(agent_step("Explain what a river delta is"), tmp=tmp_path))
        stream_file = runner.run_dir / "streams" / "agent.txt"
        async with asyncio.timeout(60):
            while not (stream_file.exists() and stream_file.stat().st_size):
                await asyncio.sleep(0.02)
        # The file fills as tokens arrive: part of the answer is there while the agent still streams.
        assert not h.of(StepFinished, "agent")
        result = await handle
    step = result.steps["agent"]
    assert step.status == "succeeded", (step.reason, step.error)
    deltas = h.of(TextDelta, "agent")
    assert len(deltas) > 100
    streamed = "".join(e.text for e in deltas)
    assert step.text == streamed
    assert stream_file.read_text(encoding="utf-8") == streamed
    assert h.of(Usage, "agent")
    [finished] = h.of(StepFinished, "agent")
    assert finished.metrics.output_tokens > 0 and finished.metrics.cost_usd > 0
    assert not h.of(ToolCall, "agent") and not h.of(ToolResult, "agent")


async def test_a_tool_using_step_writes_a_file_in_the_workspace(harness_factory, tmp_path):
    options = "allowed_tools: [Write]\n        permission_mode: accept_edits"
    async with harness_factory() as h:
        result = await h.run(workflow(agent_step("Write the file notes.md", options), tmp=tmp_path))
    step = result.steps["agent"]
    assert step.status == "succeeded", (step.reason, step.error)
    written = tmp_path / "ws" / "notes.md"
    assert written.is_file() and written.read_text(encoding="utf-8")
    [call] = [c for c in h.of(ToolCall, "agent") if c.name == "Write"]
    assert call.input["file_path"].endswith("notes.md")
    [outcome] = [r for r in h.of(ToolResult, "agent") if r.tool_use_id == call.tool_use_id]
    assert not outcome.is_error and outcome.name == "Write"
    assert step.metrics.tool_calls >= 1


async def test_a_tool_claude_code_does_not_approve_is_refused(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(workflow(agent_step("Write the file notes.md"), tmp=tmp_path))
    assert result.steps["agent"].status == "succeeded"
    assert not (tmp_path / "ws" / "notes.md").exists()
    [refused] = [r for r in h.of(ToolResult, "agent") if r.name == "Write"]
    assert refused.is_error and refused.refused


async def test_thinking_streams_as_thinking_events(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(workflow(agent_step("Explain tides", "thinking: 2048"), tmp=tmp_path))
    assert result.steps["agent"].status == "succeeded"
    thinking = "".join(e.text for e in h.of(ThinkingDelta, "agent"))
    assert thinking and thinking not in result.steps["agent"].text


async def test_an_api_error_fails_the_step_after_the_agents_retries(harness_factory, tmp_path):
    options = "retry_config: {max_retries: 1}"  # the agent retries as often as retry_config says
    async with harness_factory({"rules": [{"fault": "auth_error"}]}) as h:
        result = await h.run(workflow(agent_step("Explain tides", options), tmp=tmp_path))
    step = result.steps["agent"]
    assert step.status == "failed" and result.exit_code != 0
    assert step.error and step.error.startswith("Claude Code: ") and "\n" not in step.error
    [retry] = h.of(Retrying, "agent")
    assert (retry.attempt, retry.max_attempts) == (2, 2) and "401" in retry.reason
    assert [record.status for record in h.sim.log] == [401, 401]


async def test_a_stream_cut_mid_answer_is_retried_and_its_text_dropped(harness_factory, tmp_path):
    scenario = {"rules": [{"request": 1, "fault": "drop", "after_tokens": 30}]}
    async with harness_factory(scenario, tokens_per_second=500) as h:
        result = await h.run(workflow(agent_step("Explain tides"), tmp=tmp_path))
    step = result.steps["agent"]
    assert step.status == "succeeded", (step.reason, step.error)
    assert h.of(Retrying, "agent") and step.metrics.retries == 1
    # Only the retried attempt's text is the answer, in the result and in the file handler alike.
    assert (result.run_dir / "streams" / "agent.txt").read_text(encoding="utf-8") == step.text
    assert [record.hung_up or record.fault == "drop" for record in h.sim.log] == [True, False]


async def test_an_mcp_server_the_step_configures_is_used(harness_factory, tmp_path, monkeypatch):
    # Claude Code defers MCP tools behind its ToolSearch tool, which the simulator does not answer.
    monkeypatch.setenv("ENABLE_TOOL_SEARCH", "false")
    server = Path(__file__).with_name("mcp_notes_server.py")
    options = (
        f"mcp_servers: {{notes: {{command: {sys.executable}, args: [{server}]}}}}\n"
        "        disallowed_tools: [Write]"
    )
    async with harness_factory() as h:
        result = await h.run(workflow(agent_step("Save a note about rivers", options), tmp=tmp_path))
    assert result.steps["agent"].status == "succeeded", result.steps["agent"].error
    [call] = [c for c in h.of(ToolCall, "agent") if c.name == "mcp__notes__save_note"]
    [outcome] = [r for r in h.of(ToolResult, "agent") if r.tool_use_id == call.tool_use_id]
    assert not outcome.is_error, outcome.output
    assert (tmp_path / "ws" / "notes.txt").read_text(encoding="utf-8").strip()


async def test_max_turns_ends_the_agent_as_it_ends_the_api_loop(harness_factory, tmp_path):
    options = "allowed_tools: [Write]\n        permission_mode: accept_edits\n        max_turns: 1"
    async with harness_factory() as h:
        result = await h.run(workflow(agent_step("Write the file notes.md", options), tmp=tmp_path))
    step = result.steps["agent"]
    assert (step.status, step.stop_reason) == ("succeeded", "max_turns"), (step.reason, step.error)
