"""The dashboard: reused steps say so in the tree; R asks for the resume once a run stopped or failed."""

from __future__ import annotations

import re

from engine.events import RunFinished, StepSaved
from tests.tui.conftest import screen_text, scripted_app, settle, wait_until
from tests.tui.scripted import ESSAY, finished, run_started, streaming


def script(status: str) -> list:
    return [
        run_started("intro", "essay"),
        *streaming("intro", "Rivers."),
        *finished("intro", reason="reused from run 20250101-110000-beef"),
        StepSaved("intro", "results/intro.txt", reused_from="20250101-110000-beef"),
        *streaming("essay", ESSAY),
        *finished("essay", status, "" if status == "succeeded" else "interrupted by user"),
        RunFinished("run", status, "", 0.01, 4.2),  # type: ignore[arg-type]
    ]


async def test_a_reused_step_is_marked_in_the_tree_and_r_asks_for_the_resume():
    app, _ = scripted_app(script("interrupted"))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
        await settle(app, pilot)
        assert re.search(r"intro +reused", screen_text(app))
        await pilot.press("R")
        await pilot.pause()
    assert app.resume_requested and app.return_code == 130


async def test_r_does_nothing_after_a_run_that_succeeded():
    app, _ = scripted_app(script("succeeded"))
    async with app.run_test(size=(120, 30)) as pilot:
        await wait_until(pilot, lambda: app.run_result is not None, "the run to end")
        await settle(app, pilot)
        await pilot.press("R")
        await pilot.pause()
        assert not app.resume_requested and app.is_running
