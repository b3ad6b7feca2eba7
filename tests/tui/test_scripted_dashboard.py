"""The dashboard on scripted events: follow mode, retries, parallel tasks, keys that act on the run."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from textual.widgets._footer import FooterKey

from engine.events import (
    Event,
    Interrupted,
    RunFinished,
    StepFinished,
    StepPhase,
    StepStarted,
    TextDelta,
    ThinkingDelta,
)
from engine.handlers import HandlerEnvironment
from engine.launch import open_run
from engine.simulator import Scenario, SimulatorConfig
from engine.workflow import load_workflow
from tests.tui.conftest import pane_rows, screen_text, scripted_app, settle
from tests.tui.scripted import (
    ESSAY,
    RUN_DIR,
    ScriptedRun,
    finished,
    retry,
    run_started,
    streaming,
    words,
)
from tui.widgets.modals import HelpScreen

MANY_LINES = "".join(f"line {i} of a long answer\n" for i in range(200))


async def test_follow_mode_pauses_on_scroll_up_counts_new_text_and_resumes_at_the_end():
    app, run = scripted_app([run_started("essay"), *streaming("essay", MANY_LINES)])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        pane = app.panes["essay"]
        live = pane.live
        assert live.follow and live.rows_below == 0
        live.focus()
        await pilot.press("pageup")
        assert not live.follow
        top = live.top
        run.publish(words("essay", "fresh text\n" * 5))
        await settle(app, pilot)
        # Paused: the view stays where the user put it and the title says what waits below.
        assert live.top == top
        assert live.rows_below > 5
        assert f"▼ {live.rows_below} new lines" in str(pane.border_subtitle)
        await pilot.press("end")
        assert live.follow and live.rows_below == 0
        run.publish([TextDelta("essay", "newest words")])
        await settle(app, pilot)
        assert "newest words" in screen_text(app)


async def test_a_retry_folds_the_failed_attempt_into_a_sentence_and_starts_the_pane_over():
    events = [run_started("flaky"), *streaming("flaky", "doomed partial answer"), *retry("flaky")]
    app, run = scripted_app(events)
    async with app.run_test(size=(140, 30)) as pilot:
        await settle(app, pilot)
        assert " ".join(pane_rows(app, "flaky")) == (
            "▸ attempt 1, dropped: the API was overloaded (Overloaded) after 3 tokens;"
            " attempt 2 of 4 in 1.5 s")
        assert "attempt 2 of 4 in 1.5 s" in str(app.panes["flaky"].border_title)
        run.publish(words("flaky", "the good answer"))
        await settle(app, pilot)
        assert pane_rows(app, "flaky")[-1] == "the good answer"
        assert "doomed" not in " ".join(pane_rows(app, "flaky"))
        assert app.state.steps["flaky"].retries == 1


async def test_parallel_tasks_sit_beneath_their_step_each_with_a_pane_side_by_side():
    events = [run_started("reviews"), *streaming("reviews", "", model="")]
    for task in ("security", "speed", "access"):
        events += streaming(f"reviews.{task}", f"{task} review text", parent="reviews")
    app, _ = scripted_app(events)
    async with app.run_test(size=(150, 30)) as pilot:
        await settle(app, pilot)
        assert list(app.panes) == ["reviews.security", "reviews.speed", "reviews.access"]
        node = app.step_tree.nodes_by_step["reviews"]
        assert [child.data for child in node.children] == list(app.panes)
        regions = [pane.region for pane in app.panes.values()]
        assert len({region.y for region in regions}) == 1, "the three panes share one row"
        assert app.state.streams_in_flight() == 3


async def test_the_interrupt_key_asks_the_run_handle_to_stop_the_selected_step():
    app, run = scripted_app([run_started("one", "two"), *finished_step("one"), *streaming("two", ESSAY)])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        assert app.selected == "two"
        await pilot.press("x")
        await settle(app, pilot)
        assert run.interrupts == [("two", "interrupted by user (dashboard)")]
        assert "interrupted" in app.state.steps["two"].activity(0)


async def test_stop_on_error_interrupts_everything_when_a_step_fails():
    events = [run_started("a", "b"), *streaming("a", ESSAY), *streaming("b", ESSAY)]
    app, run = scripted_app(events)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("e")
        run.publish(finished("a", "failed", "server_error", "api_error: Internal server error"))
        await settle(app, pilot)
        assert run.interrupted_all == ["stop on error: a failed"]


async def test_copy_puts_the_selected_panes_text_on_the_clipboard():
    app, _ = scripted_app([run_started("essay"), *streaming("essay", ESSAY)])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("c")
        assert app.clipboard == ESSAY


async def test_help_lists_the_keys_and_escape_closes_it():
    app, _ = scripted_app([run_started("essay")])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("question_mark")
        assert isinstance(app.screen, HelpScreen)
        assert "Interrupt the selected step" in screen_text(app)
        await pilot.press("escape")
        assert not isinstance(app.screen, HelpScreen)


async def test_exit_when_done_closes_with_the_runs_exit_code():
    events = [run_started("essay"), *streaming("essay", ESSAY),
              *finished("essay", "failed", "server_error", "boom"), run_finished("failed")]
    app, _ = scripted_app(events, exit_when_done=True)
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.pause()
    assert app.return_code == 1


def finished_step(step_id: str) -> list:
    return [*streaming(step_id, "short answer"), *finished(step_id)]


def run_finished(status: str) -> RunFinished:
    return RunFinished("run", status, "", 0.01, 3.0)



async def test_tasks_named_up_front_show_as_queued_beneath_their_step():
    events = [run_started("defs"),
              StepStarted("defs", "claude_batch", "", None, ("defs.item1", "defs.item2", "defs.item3")),
              *streaming("defs.item1", "latency is delay", parent="defs")]
    app, _ = scripted_app(events)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        node = app.step_tree.nodes_by_step["defs"]
        assert [child.data for child in node.children] == ["defs.item1", "defs.item2", "defs.item3"]
        assert [app.state.steps[c].activity(0) for c in ("defs.item2", "defs.item3")] == ["queued", "queued"]
        assert list(app.panes) == ["defs.item1"]


# -- the fake against the engine ---------------------------------------------------------------------

FAKE_CHECK_STEPS = """\
workflow:
  name: demo
  output_dir: {outputs}
  workspace_dir: {workspace}
  on_error: {on_error}
  steps:
    - {{name: one, type: claude, prompt: "Write about lighthouses"}}
    - {{name: two, type: claude, prompt: "Say hello"}}
"""


def _stop_sequence(events: list[Event]) -> list[tuple[object, ...]]:
    """From the first Interrupted on: each lifecycle event's type and the fields the dashboard reads."""
    start = next(i for i, event in enumerate(events) if isinstance(event, Interrupted))
    shape = []
    for event in events[start:]:
        if isinstance(event, Interrupted):
            shape.append(("Interrupted", event.step_id, event.reason))
        elif isinstance(event, StepFinished):
            shape.append(("StepFinished", event.step_id, event.status, event.reason))
        elif isinstance(event, StepStarted):
            shape.append(("StepStarted", event.step_id))
        elif isinstance(event, RunFinished):
            shape.append(("RunFinished", event.status, event.reason))
    return shape


async def _engine_events(tmp_path: Path, on_error: str, stop: Callable[[Any], None]) -> list[Event]:
    path = tmp_path / "workflow.yaml"
    path.write_text(FAKE_CHECK_STEPS.format(outputs=tmp_path / "outputs", workspace=tmp_path / "ws",
                                            on_error=on_error))
    workflow = load_workflow(path).workflow
    scenario = Scenario.from_dict({"rules": [{"prompt_contains": "lighthouses", "answer_tokens": 2000}]})
    config = SimulatorConfig(scenario=scenario, tokens_per_second=200)
    events: list[Event] = []
    # The launch path console and dashboard use; the bus is listened to before the run's first event.
    async with open_run(workflow, provider="simulator", simulator=config, output_dir=tmp_path / "outputs",
                        handlers=HandlerEnvironment(console_enabled=False)) as handle:
        handle.bus.listen(events.append)
        for _ in range(500):
            if sum(isinstance(event, TextDelta) for event in events) >= 5:
                break
            await asyncio.sleep(0.01)
        stop(handle)
        await handle
    return events


async def _scripted_events(stop: Callable[[Any], None]) -> list[Event]:
    run = ScriptedRun([run_started("one", "two"), *streaming("one", ESSAY)])
    events: list[Event] = []
    run.bus.listen(events.append)
    async with run.open():
        await asyncio.sleep(0)  # the script is published on the next loop turn
        stop(run)
    return events


@pytest.mark.parametrize(
    ("on_error", "stop", "stops_the_run"),
    [
        ("stop", lambda handle: handle.interrupt_all("stop everything"), True),
        ("continue", lambda handle: handle.interrupt("one", "looks wrong"), False),
    ],
    ids=["interrupt-all", "interrupt-one"],
)
async def test_the_scripted_fake_stops_a_step_as_the_engine_does(tmp_path, on_error, stop, stops_the_run):
    """The dashboard tests above trust ScriptedRun to publish what the engine publishes on an
    interrupt; this holds it to that, event by event, on the real engine and simulator."""
    engine = _stop_sequence(await _engine_events(tmp_path, on_error, stop))
    fake = _stop_sequence(await _scripted_events(stop))
    if stops_the_run:
        assert fake == engine
    else:
        # Only the engine goes on to run the next step: the fake has no script for it.
        assert fake == engine[: len(fake)] and engine[len(fake)] == ("StepStarted", "two")


async def test_a_pane_the_user_stopped_stays_when_the_next_step_starts():
    app, run = scripted_app([run_started("essay", "after"), *streaming("essay", ESSAY)])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("x")
        await settle(app, pilot)
        run.publish(streaming("after", "the next step streams"))
        await settle(app, pilot)
        await pilot.pause(1.2)
        await settle(app, pilot)
        assert list(app.panes) == ["after", "essay"], "running first, the stopped one stays beside it"
        assert app.selected == "after"


async def test_keys_act_on_the_selected_step_without_a_focused_pane():
    thought = [StepPhase("essay", "thinking"), ThinkingDelta("essay", "first I weigh the rivers")]
    app, _ = scripted_app([run_started("essay"), *streaming("essay", MANY_LINES), *thought])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.step_tree.focus()
        await pilot.pause()
        live = app.panes["essay"].live
        await pilot.press("t")
        assert live.transcript.collapse_thinking
        live.scroll_rows(-20)
        assert not live.follow
        await pilot.press("end")
        assert live.follow and app.step_tree.has_focus


async def test_the_footer_offers_only_keys_that_do_something_now():
    app, run = scripted_app([run_started("one", "two"), *streaming("one", "short answer")])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        shown = lambda: {key.key for key in app.query(FooterKey)}  # noqa: E731
        assert {"x", "X", "m", "q"} <= shown() and "n" not in shown()
        run.publish([*finished("one"), *streaming("two", "second"), *finished("two"),
                     run_finished("succeeded")])
        await settle(app, pilot)
        await pilot.pause()
        assert "x" not in shown() and "X" not in shown()
        assert {"n", "m", "q"} <= shown()


async def test_next_and_previous_move_through_the_steps_after_the_run():
    events = [run_started("one", "two", "three")]
    for step in ("one", "two", "three"):
        events += [*streaming(step, f"{step} answer"), *finished(step)]
    app, _ = scripted_app([*events, run_finished("succeeded")])
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        assert app.selected == "three"
        await pilot.press("n")
        assert app.selected == "one" and "one" in app.panes
        await pilot.press("p", "p")
        assert app.selected == "two" and "two" in app.panes


async def test_an_interrupted_answer_is_rendered_as_markdown_and_marked():
    events = [run_started("essay"), *streaming("essay", "# Title\n\nsome **bold** words"),
              *finished("essay", "interrupted", "interrupted by user (dashboard)"),
              run_finished("interrupted")]
    app, _ = scripted_app(events)
    async with app.run_test(size=(120, 30)) as pilot:
        await settle(app, pilot)
        await pilot.pause(0.2)
        pane = app.panes["essay"]
        assert pane.rendered
        text = screen_text(app)
        assert "■ interrupted: interrupted by user (dashboard) — the answer as" in text
        assert "Title" in text and "# Title" not in text and "**bold**" not in text


async def test_copy_says_where_the_text_went(tmp_path, monkeypatch):
    monkeypatch.setenv("TERM", "linux")  # a console that takes no clipboard escape
    app, run = scripted_app([run_started("essay"), *streaming("essay", ESSAY)])
    run.run_dir = tmp_path
    app.state.run_dir = ""
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.state.run_dir = str(tmp_path)
        await pilot.press("c")
        saved = tmp_path / "copied" / "essay.txt"
        assert saved.read_text(encoding="utf-8") == ESSAY
        [message] = [n.message for n in app._notifications if "saved to" in n.message]
        assert str(saved) in message and "takes no clipboard escape" in message


async def test_a_screenshot_goes_to_the_run_folder_when_there_is_no_downloads_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    app, _ = scripted_app([run_started("essay"), *streaming("essay", ESSAY)])
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        app.state.run_dir = str(tmp_path / "run")
        saved = app.deliver_screenshot()
        assert saved is not None and Path(saved).parent == tmp_path / "run" and Path(saved).is_file()


async def test_after_a_forced_quit_the_status_line_says_what_was_known():
    app, run = scripted_app([run_started("one", "two"), *streaming("one", ESSAY), *finished("one"),
                             *streaming("two", ESSAY)])
    run.obey_interrupts = False
    async with app.run_test(size=(100, 30)) as pilot:
        await settle(app, pilot)
        await pilot.press("q", "y")
        await pilot.press("q")
        await pilot.pause()
    assert app.return_code == 130 and app.run_result is None
    assert app.status_line.startswith("run interrupted (forced quit (asked twice)) · 1 of 2 steps done")
    assert str(RUN_DIR) in app.status_line

