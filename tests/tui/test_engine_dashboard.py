"""The dashboard on the real engine and simulator: text streams into panes, keys stop steps, quit is clean."""

from __future__ import annotations

import json
import re
from pathlib import Path

from tests.tui.conftest import screen_text, wait_until
from tui.summary import summary_lines
from tui.widgets.modals import ConfirmScreen

REPLY = "Lighthouses guide ships past rocks at night. " * 200  # about 20 s at 100 tokens/s
LONG = {"rules": [{"prompt_contains": "lighthouses", "reply": REPLY, "tokens_per_second": 100}]}

TWO_STEPS = """
- name: essay
  type: claude
  claude_options: {stream_handler: [file]}
  prompt: "Write about lighthouses"
- name: after
  type: claude
  prompt: "Say hello"
"""


def record(run) -> dict:
    return json.loads((run.handle.run_dir / "run.json").read_text(encoding="utf-8"))


async def test_a_running_step_gets_a_pane_that_shows_its_streamed_text(engine_app):
    app, _ = engine_app(TWO_STEPS, LONG)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: "essay" in app.panes and app.panes["essay"].live.transcript.row_count,
                         "text in the essay pane")
        await pilot.pause(0.2)
        assert "Lighthouses guide ships past rocks" in screen_text(app)
        assert "SIMULATED" in screen_text(app)
        app.handle.interrupt_all("test over")
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")


async def test_the_interrupt_key_stops_the_selected_step_and_hangs_up(engine_app):
    app, run = engine_app(TWO_STEPS, LONG, extra="on_error: continue\n")
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.output_tokens_seen > 5, "the essay to stream")
        assert app.selected == "essay"
        await pilot.press("x")
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
        app.refresh_from_run()
        await pilot.pause()
        essay = app.state.steps["essay"]
        assert essay.status == "interrupted" and "dashboard" in essay.reason
        assert "interrupted" in screen_text(app)
    # The simulator saw the client hang up long before the answer's end; the next step still ran.
    first = run.provider.simulator.log[0]
    assert first.hung_up and first.output_tokens < 1000
    assert app.run_result.steps["after"].status == "succeeded"
    assert record(run)["steps"]["essay"]["status"] == "interrupted"


async def test_interrupt_all_asks_then_stops_everything(engine_app):
    app, run = engine_app(TWO_STEPS, LONG)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.streams_in_flight() == 1, "the essay to stream")
        await pilot.press("X")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("y")
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
    assert app.run_result.status == "interrupted" and app.run_result.exit_code == 130
    assert app.run_result.steps["after"].status == "skipped"
    assert run.provider.simulator.log[0].hung_up
    assert len(run.provider.simulator.log) == 1


async def test_quit_while_running_asks_then_leaves_a_consistent_record(engine_app):
    app, run = engine_app(TWO_STEPS, LONG)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.streams_in_flight() == 1, "the essay to stream")
        await pilot.press("q")
        assert isinstance(app.screen, ConfirmScreen)
        await pilot.press("n")
        assert not isinstance(app.screen, ConfirmScreen) and app.running
        await pilot.press("q", "y")
        await wait_until(pilot, lambda: app.return_code is not None, "the app to exit")
    assert app.return_code == 130
    saved = record(run)
    assert saved["status"] == "interrupted"
    assert saved["steps"]["essay"]["status"] == "interrupted"
    streamed = (run.handle.run_dir / "streams" / "essay.txt").read_text(encoding="utf-8")
    assert streamed and REPLY.startswith(streamed)


async def test_live_cost_counts_the_text_streaming_now_in_the_header_and_in_run_json(engine_app):
    app, run = engine_app(TWO_STEPS, LONG)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.state.output_tokens_seen > 300, "the essay to stream a while")
        essay = app.state.steps["essay"]
        reported = essay.call.cost_usd if essay.call else 0.0
        # The usage so far reports the input and the first token; the estimate adds what streamed since.
        assert essay.cost_usd > reported
        assert app.state.totals()[2] == essay.cost_usd
        await wait_until(pilot, lambda: (record(run)["steps"]["essay"].get("cost_usd") or 0) > reported,
                         "run.json to carry the running step's estimate")
        saved = record(run)
        assert saved["cost_usd"] == saved["steps"]["essay"]["cost_usd"]
        app.handle.interrupt_all("test over")
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
    # Corrected when the step ends: the record holds the step's metered cost.
    final = record(run)["steps"]["essay"]
    assert final["cost_usd"] == final["metrics"]["cost_usd"]


SUMMARY_STEPS = """
- name: plan
  type: claude
  prompt: "Say hello"
- name: reviews
  type: parallel_claude
  parallel_tasks:
    - {id: speed, prompt: "Say hello about speed"}
    - {id: cost, prompt: "Say hello about cost"}
"""
QUIT_SUMMARY = Path(__file__).parent / "expected" / "quit_summary.txt"


def masked(lines: list[str]) -> str:
    """The summary with what changes from run to run (times, the run folder) masked."""
    text = "\n".join(lines)
    text = re.sub(r"\d+\.\ds\b", "T.Ts", text)
    return re.sub(r"record: \S+/run\.json", "record: RUN_DIR/run.json", text)


async def test_the_quit_summary_after_exit_when_done(engine_app):
    app, _ = engine_app(SUMMARY_STEPS, {"rules": [{"reply": "Hello there, kind reader."}]},
                        exit_when_done=True)
    async with app.run_test(size=(120, 36)) as pilot:
        await wait_until(pilot, lambda: app.return_code is not None, "the app to close when done")
    assert app.return_code == 0 and app.run_result is not None
    assert app.status_line.startswith("run succeeded · 2 of 2 steps done")
    # What `pipeline run` prints once the app has closed (the console mode prints the same).
    assert masked(summary_lines(app.run_result)) == QUIT_SUMMARY.read_text(encoding="utf-8").rstrip("\n")
