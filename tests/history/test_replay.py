"""Replay: a recorded run with a retry, a tool call, a stop and a failure plays back as it happened."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.events import Retrying, StepFinished, TextDelta, ToolCall
from engine.replay import ReplayRun, read_events
from tests.engine.conftest import workflow
from tests.tui.conftest import FROZEN_CLOCK, screen_text, settle, wait_until
from tests.tui.scripted import ScriptedRun
from tui.app import DashboardApp
from tui.cli import main as cli

STEPS = """
- name: shaky
  type: claude
  claude_options:
    stream_handler: file
    retry_config: {max_retries: 2, base_delay_ms: 1, max_delay_ms: 5}
  prompt: "A shaky answer about tides"
- name: agent
  type: claude
  claude_options: {stream_handler: file, allowed_tools: [Write, Read]}
  prompt: "Write notes.md with a summary, then read notes.md back."
- name: long
  type: claude
  claude_options: {stream_handler: file, stop_on: ["HALT"]}
  prompt: "A long answer about dunes"
- name: broken
  type: claude
  claude_options: {stream_handler: file, retry_config: {max_retries: 0}}
  prompt: "An answer about glaciers"
"""
RULES = [
    {"prompt_contains": "shaky", "fault": "error_event", "after_tokens": 8, "times": 1},
    {"prompt_contains": "dunes", "reply": "Dunes move with the wind, grain by grain. HALT. " * 20},
    {"prompt_contains": "glaciers", "fault": "server_error"},
]


async def record_a_run(harness_factory, tmp_path: Path):
    async with harness_factory({"rules": RULES, "answer_tokens": 30}, tokens_per_second=400) as h:
        result = await h.run(workflow(STEPS, tmp=tmp_path, extra="on_error: continue\n"))
    assert h.of(Retrying, "shaky") and h.of(ToolCall, "agent")
    statuses = {e.step_id: e.status for e in h.of(StepFinished)}
    assert statuses == {"shaky": "succeeded", "agent": "succeeded", "long": "interrupted", "broken": "failed"}
    return result, list(h.events)


async def test_replay_reproduces_the_stream_files_and_the_final_screen(harness_factory, tmp_path):
    result, live_events = await record_a_run(harness_factory, tmp_path)
    recorded = read_events(result.run_dir)
    assert "".join(r.event.text for r in recorded if isinstance(r.event, TextDelta)) == "".join(
        e.text for e in live_events if isinstance(e, TextDelta)
    )

    # The replay's file handlers, in a fresh folder, write what the run's wrote.
    fresh = tmp_path / "replayed"
    replay = ReplayRun(recorded, fresh, speed=20, handlers=("file",))
    async with replay.open():
        replayed = await replay
    assert replayed.status == result.status == "failed"
    originals = sorted((result.run_dir / "streams").iterdir())
    assert [p.name for p in originals] == ["agent.txt", "broken.txt", "long.txt", "shaky.txt"]
    for original in originals:
        assert (fresh / "streams" / original.name).read_text() == original.read_text(), original.name
    assert "HALT" in (fresh / "streams" / "long.txt").read_text()

    # The dashboard ends on the same screen as one fed the live run's events.
    screens = []
    for open_run in (ScriptedRun(live_events).open, ReplayRun(recorded, result.run_dir, speed=20).open):
        app = DashboardApp(open_run, clock=lambda: FROZEN_CLOCK)
        async with app.run_test(size=(120, 36)) as pilot:
            await wait_until(pilot, lambda app=app: app.run_result is not None, "the run to end")
            await settle(app, pilot)
            # A repaint at the final size: a pane opened and finished within one tick can keep a row
            # painted at its first width until then (seen on the live events; not the replay's doing).
            await pilot.resize_terminal(121, 36)
            await pilot.resize_terminal(120, 36)
            await settle(app, pilot)
            screens.append(screen_text(app))
            app.save_screenshot(filename=f"replay-{len(screens)}.svg", path=str(tmp_path))
    live, replayed_screen = screens
    assert "broken" in live and "failed" in live
    assert replayed_screen == live


def test_replay_on_the_console_needs_no_api_and_bad_records_are_one_line(harness_factory, tmp_path, capsys):
    result, _ = asyncio.run(record_a_run(harness_factory, tmp_path))
    capsys.readouterr()
    assert cli(["replay", str(result.run_dir), "--no-tui", "--speed", "50"]) == 0
    out = capsys.readouterr().out
    assert "replay of run" in out and "attempt 2/3" in out and "interrupted" in out
    shaky = (result.run_dir / "streams" / "shaky.txt").read_text(encoding="utf-8")
    assert shaky.splitlines()[0] in out
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "run.json").write_text("{}", encoding="utf-8")
    assert cli(["replay", str(tmp_path / "empty"), "--no-tui"]) == 2
    err = capsys.readouterr().err
    assert "no events.jsonl" in err and len(err.strip().splitlines()) == 1


def test_a_torn_last_line_is_left_out(tmp_path):
    lines = [
        {"ts": 10.0, "kind": "step_started", "step_id": "a", "step_type": "claude", "model": "m"},
        {"ts": 10.5, "kind": "text", "step_id": "a", "text": "hello world", "chunks": 2,
         "offsets": [[0, 6], [250.0, 5]]},
    ]
    text = "".join(json.dumps(line) + "\n" for line in lines) + '{"ts": 11.0, "kind": "step_fin'
    (tmp_path / "events.jsonl").write_text(text, encoding="utf-8")
    recorded = read_events(tmp_path)
    assert [(round(r.offset_s, 3), getattr(r.event, "text", None)) for r in recorded] == [
        (0.0, None), (0.5, "hello "), (0.75, "world")
    ]
