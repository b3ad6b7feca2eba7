"""Snapshots of the dashboard's important screens, driven by scripted events and a frozen clock."""

from __future__ import annotations

from typing import Any

from engine.events import Event, RunFinished, StepPhase, StepStarted, Usage
from tests.tui.conftest import scripted_app, settle
from tests.tui.scripted import (
    ESSAY,
    MARKDOWN_ANSWER,
    finished,
    retry,
    run_started,
    streaming,
    thinking,
    tool_use,
    words,
)


def three_parallel_tasks() -> list[Event]:
    events: list[Event] = [run_started("plan", "reviews", "summary"), *streaming("plan", "A short plan."),
                           *finished("plan"), StepStarted("reviews", "parallel_claude", "", None)]
    for task, text in (("security", ESSAY), ("speed", ESSAY[:150]), ("access", ESSAY[:60])):
        events += streaming(f"reviews.{task}", text, parent="reviews")
    events += thinking("reviews.access", "The user wants an accessibility review: labels, contrast, focus.")
    events += tool_use("reviews.speed")
    events += retry("reviews.security")
    return events


def interrupted_step() -> list[Event]:
    return [run_started("essay", "after"), *streaming("essay", ESSAY),
            *finished("essay", "interrupted", "interrupted by user (dashboard)"),
            *finished("after", "skipped", "interrupted by user (dashboard)"),
            RunFinished("run", "interrupted", "interrupted by user (dashboard)", 0.0012, 3.2)]


def failed_step() -> list[Event]:
    return [run_started("essay", "after"), *streaming("essay", ESSAY),
            *finished("essay", "failed", "server_error",
                      "api_error: Internal server error (after 4 attempts, request req_0123)"),
            *finished("after", "skipped", "step essay failed"),
            RunFinished("run", "failed", "step essay failed: server_error", 0.0012, 3.2)]


def finished_run() -> list[Event]:
    return [run_started("plan", "notes"), *streaming("plan", "A short plan."), *finished("plan"),
            *streaming("notes", MARKDOWN_ANSWER), *finished("notes"),
            RunFinished("run", "succeeded", "", 0.0024, 6.4)]


def snapshot_of(events: list[Event], *actions: str | list[Event], **options: Any) -> tuple[Any, Any]:
    """The app on `events`, then each action in turn: a key to press, or more events to publish."""
    app, run = scripted_app(events, **options)

    async def run_before(pilot: Any) -> None:
        await settle(app, pilot)
        for action in actions:
            if isinstance(action, str):
                await pilot.press(action)
            else:
                run.publish(action)
            await settle(app, pilot)
        # Markdown answers render in a few frames.
        for _ in range(3):
            await pilot.pause()

    return app, run_before


def test_start(snap_compare):
    app, before = snapshot_of([run_started("plan", "reviews", "summary")])
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_three_parallel_panes_mid_stream(snap_compare):
    app, before = snapshot_of(three_parallel_tasks())
    assert snap_compare(app, terminal_size=(140, 34), run_before=before)


def test_interrupted_step(snap_compare):
    app, before = snapshot_of(interrupted_step())
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_failed_step_with_its_error(snap_compare):
    app, before = snapshot_of(failed_step())
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_finished_run_with_markdown(snap_compare):
    app, before = snapshot_of(finished_run())
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_finished_run_in_the_light_theme(snap_compare):
    app, before = snapshot_of(finished_run(), dark=False)
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_maximized_pane(snap_compare):
    app, before = snapshot_of(three_parallel_tasks(), "m")
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_quit_confirmation(snap_compare):
    app, before = snapshot_of(three_parallel_tasks(), "q")
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_80_by_24(snap_compare):
    app, before = snapshot_of(three_parallel_tasks())
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def test_a_retried_step_after_the_new_attempt_started(snap_compare):
    events = [run_started("flaky"), *streaming("flaky", ESSAY), *retry("flaky"),
              StepPhase("flaky", "streaming"), *words("flaky", "The second attempt starts on a clean pane.")]
    app, before = snapshot_of(events)
    assert snap_compare(app, terminal_size=(100, 24), run_before=before)


def test_the_budget_gauge_warns_at_80_percent(snap_compare):
    events = [run_started("essay", budget=0.01), *streaming("essay", ESSAY),
              Usage("essay", "claude-sonnet-4-5", 120, 400, cost_usd=0.0081)]
    app, before = snapshot_of(events)
    assert snap_compare(app, terminal_size=(120, 24), run_before=before)


def test_a_maximized_pane_stays_maximized_when_the_next_step_starts(snap_compare):
    first = [run_started("essay", "after"), *streaming("essay", ESSAY)]
    app, before = snapshot_of(first, "m", [*finished("essay"), *streaming("after", "The next step streams.")])
    assert snap_compare(app, terminal_size=(100, 24), run_before=before)


def eight_parallel_tasks() -> list[Event]:
    events: list[Event] = [run_started("reviews", "summary"),
                           StepStarted("reviews", "parallel_claude", "", None,
                                       tuple(f"reviews.task{n}" for n in range(1, 9)))]
    for n in range(1, 9):
        events += streaming(f"reviews.task{n}", ESSAY[: 40 * n], parent="reviews")
    events += finished("reviews.task1")
    return events


def test_eight_parallel_tasks_at_80_by_24_one_pane_with_a_switcher(snap_compare):
    app, before = snapshot_of(eight_parallel_tasks())
    assert snap_compare(app, terminal_size=(80, 24), run_before=before)


def long_names() -> list[Event]:
    events: list[Event] = [run_started("plan", "security-and-compliance-review", "summary"),
                           *streaming("plan", "A short plan."), *finished("plan"),
                           StepStarted("security-and-compliance-review", "parallel_claude", "", None)]
    for task in ("securitystreaming", "speed", "accessibility-for-screen-readers"):
        events += streaming(f"security-and-compliance-review.{task}", ESSAY[:200],
                            parent="security-and-compliance-review")
    return events


def test_the_step_tree_at_120_columns(snap_compare):
    app, before = snapshot_of(long_names())
    assert snap_compare(app, terminal_size=(120, 30), run_before=before)


def test_the_step_tree_at_220_columns(snap_compare):
    app, before = snapshot_of(long_names())
    assert snap_compare(app, terminal_size=(220, 30), run_before=before)
