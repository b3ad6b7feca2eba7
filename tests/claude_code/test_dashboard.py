"""The dashboard on a Claude Code step: its text streams into the pane, and the stop key ends the agent."""

from __future__ import annotations

import asyncio

from tests.tui.conftest import engine_app, screen_text, wait_until

__all__ = ["engine_app"]

LONG = {"rules": [{"prompt_contains": "lighthouses", "answer_tokens": 3000, "tokens_per_second": 100}]}
STEPS = """
- name: agent
  type: claude
  claude_options: {executor: claude_code, model: claude-sonnet-4-6, stream_handler: [file]}
  prompt: "Tell me about lighthouses"
"""


async def test_the_stop_key_ends_a_claude_code_step_and_keeps_its_text(engine_app):
    app, run = engine_app(STEPS, LONG)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.output_tokens_seen > 5, "the agent to stream", tries=1500)
        assert app.selected == "agent"
        await pilot.press("x")
        async with asyncio.timeout(15):  # a bound, well above the ~1 s interrupt grace
            await wait_until(pilot, lambda: app.run_result is not None, "the run to end", tries=1500)
        app.refresh_from_run()
        await pilot.pause()
        agent = app.state.steps["agent"]
        assert agent.status == "interrupted" and "dashboard" in agent.reason
        assert "interrupted" in screen_text(app)
    step = app.run_result.steps["agent"]
    stream_file = app.run_result.run_dir / "streams" / "agent.txt"
    assert step.text and stream_file.read_text(encoding="utf-8") == step.text
    [call] = [record for record in run.provider.simulator.log if record.path == "/v1/messages"]
    assert call.hung_up and call.output_tokens < 3000
