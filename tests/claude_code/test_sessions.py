"""claude_session under executor claude_code resumes the Claude Code session across runs."""

from __future__ import annotations

import json

from engine.sessions import load_session
from tests.claude_code.conftest import workflow


def session_step(prompt: str) -> str:
    return f"""
    - name: tutor
      type: claude_session
      session_config: {{session_name: math_tutor}}
      claude_options:
        executor: claude_code
        model: claude-sonnet-4-6
        stream_handler: buffer
      prompt: "{prompt}"
    """


async def test_a_session_continues_across_two_runs(harness_factory, tmp_path, claude_home):
    workspace = tmp_path / "ws"
    async with harness_factory() as h:
        first = await h.run(workflow(session_step("Explain prime numbers"), tmp=tmp_path))
        assert first.steps["tutor"].status == "succeeded", first.steps["tutor"].error
        stored = load_session(workspace, "math_tutor")
        assert stored is not None
        session_id = stored["claude_code_session"]
        second = await h.run(workflow(session_step("Now explain composite numbers"), tmp=tmp_path))
        assert second.steps["tutor"].status == "succeeded", second.steps["tutor"].error
    stored = load_session(workspace, "math_tutor")
    assert stored is not None
    # The second run resumed the first one's Claude Code session: one transcript holds both prompts.
    assert stored["claude_code_session"] == session_id
    [transcript] = (claude_home / ".claude" / "projects").glob(f"*/{session_id}.jsonl")
    prompts = [
        entry["message"]["content"]
        for entry in map(json.loads, transcript.read_text(encoding="utf-8").splitlines())
        if entry.get("type") == "user" and isinstance(entry.get("message", {}).get("content"), str)
    ]
    assert prompts == ["Explain prime numbers", "Now explain composite numbers"]
    # Our own session file keeps the turns too (for session_context prompt parts).
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
