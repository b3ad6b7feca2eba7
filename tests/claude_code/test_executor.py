"""Steps with `executor: claude_code`: the real CLI, driven by the engine, against the simulator."""

from __future__ import annotations

from engine.events import StepFinished, TextDelta, ThinkingDelta, ToolCall, ToolResult, Usage
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
    async with harness_factory(tokens_per_second=200) as h:
        result = await h.run(workflow(agent_step("Explain what a river delta is"), tmp=tmp_path))
    step = result.steps["agent"]
    assert step.status == "succeeded", (step.reason, step.error)
    deltas = h.of(TextDelta, "agent")
    assert len(deltas) > 5
    streamed = "".join(e.text for e in deltas)
    assert step.text == streamed
    assert (result.run_dir / "streams" / "agent.txt").read_text(encoding="utf-8") == streamed
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
