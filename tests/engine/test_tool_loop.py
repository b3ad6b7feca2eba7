"""The agent tool loop through the real SDK and simulator: tools run in the workspace, escapes are refused."""

from __future__ import annotations

from engine.events import TextDelta, ToolCall, ToolResult
from tests.engine.conftest import workflow


def tool_step(prompt: str, tools: str = "[Write, Read]", extra: str = "") -> str:
    return f"""
    - name: agent
      type: claude
      claude_options:
        allowed_tools: {tools}
        stream_handler: [file, buffer]
        {extra}
      prompt: "{prompt}"
    """


async def test_a_tool_loop_writes_and_reads_files_in_the_workspace(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(
            workflow(tool_step("Write notes.md with a summary, then read notes.md back."), tmp=tmp_path)
        )
    agent = result.steps["agent"]
    assert agent.status == "succeeded", agent.error
    calls = h.of(ToolCall, "agent")
    results = h.of(ToolResult, "agent")
    assert [c.name for c in calls][:2] == ["Write", "Read"]
    assert len(results) == len(calls) and not any(r.is_error for r in results)
    written = (tmp_path / "ws" / "notes.md").read_text(encoding="utf-8")
    assert written and written.splitlines()[0] in results[1].output
    assert agent.metrics.tool_calls == len(calls)
    assert agent.stop_reason == "end_turn"
    # Every turn's text reached the file handler, in order, once.
    streamed = "".join(e.text for e in h.of(TextDelta, "agent"))
    assert (result.run_dir / "streams" / "agent.txt").read_text(encoding="utf-8") == streamed == agent.text


async def test_escapes_are_refused_and_reported_to_claude_as_errors(harness_factory, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (tmp_path / "ws").mkdir()
    (tmp_path / "ws" / "link").symlink_to(outside, target_is_directory=True)
    attempts = {
        "dotdot": ("Write", {"file_path": "../outside/escape.txt", "content": "x"}),
        "absolute": ("Write", {"file_path": f"{outside}/escape.txt", "content": "x"}),
        "symlink": ("Write", {"file_path": "link/escape.txt", "content": "x"}),
        "read-symlink": ("Read", {"file_path": "link/secret.txt"}),
        "edit-absolute": (
            "Edit",
            {"file_path": f"{outside}/secret.txt", "old_string": "s", "new_string": "t"},
        ),
    }
    (outside / "secret.txt").write_text("secret", encoding="utf-8")
    for label, (tool, tool_input) in attempts.items():
        rules = [{"times": 1, "tool_use": {"name": tool, "input": tool_input}}]
        async with harness_factory({"rules": rules}) as h:
            result = await h.run(
                workflow(tool_step("Do the task.", "[Write, Read, Edit]"), tmp=tmp_path, ws=tmp_path / "ws")
            )
        agent = result.steps["agent"]
        [call, *_] = h.of(ToolCall, "agent")
        [refusal, *_] = h.of(ToolResult, "agent")
        assert call.name == tool and call.input == tool_input, label
        assert refusal.is_error and refusal.refused, (label, refusal)
        assert "outside the workspace" in refusal.output
        # Claude got the error back and the step carried on to an answer; nothing changed outside.
        assert agent.status == "succeeded" and len(h.sim.log) >= 2, label
        assert sorted(p.name for p in outside.iterdir()) == ["secret.txt"], label
        assert (outside / "secret.txt").read_text(encoding="utf-8") == "secret"


async def test_bash_runs_only_when_allowed_in_the_workspace_with_a_timeout(harness_factory, tmp_path):
    rules = [{"times": 1, "tool_use": {"name": "Bash", "input": {"command": "pwd; echo made > made.txt"}}}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(tool_step("Do the task.", "[Bash]"), tmp=tmp_path))
    [outcome] = h.of(ToolResult, "agent")
    assert not outcome.is_error, outcome.output
    assert str((tmp_path / "ws").resolve()) in outcome.output
    assert (tmp_path / "ws" / "made.txt").exists()
    assert result.steps["agent"].status == "succeeded"


async def test_max_turns_ends_the_loop_keeping_what_was_produced(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(
            workflow(
                tool_step("Write a.md, then write b.md, then read a.md.", extra="max_turns: 1"), tmp=tmp_path
            )
        )
    agent = result.steps["agent"]
    assert agent.status == "succeeded"
    assert agent.stop_reason == "max_turns"
    assert len(h.sim.log) == 1
    assert (tmp_path / "ws" / "a.md").exists()
