"""Builders for dashboard tests: the app on scripted events, or on the real engine and simulator."""

from __future__ import annotations

import contextlib
import html
import re
import textwrap
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from engine.events import Event
from engine.launch import start_run
from engine.providers import open_provider
from engine.simulator import Scenario, SimulatorConfig
from engine.workflow import load_workflow
from tests.tui.scripted import ScriptedRun
from tui.app import DashboardApp
from tui.dashboard import dashboard_app

FROZEN_CLOCK = 1000.0


def scripted_app(events: list[Event], **options: Any) -> tuple[DashboardApp, ScriptedRun]:
    """The app on a fixed list of events and a frozen clock: every frame is reproducible."""
    run = ScriptedRun(list(events))
    return DashboardApp(run.open, clock=lambda: FROZEN_CLOCK, **options), run


async def settle(app: DashboardApp, pilot: Any) -> None:
    """Let published events reach the app, fold them in, and let the screen catch up."""
    await pilot.pause()
    app.refresh_from_run()
    await pilot.pause()
    await app.workers.wait_for_complete() if app.run_result is not None else None
    await pilot.pause()


# Rich's SVG export places each run of text at x = column * 20 px * 0.61 on clip path "line-N".
SVG_TEXT = re.compile(
    r'<text [^>]*x="([\d.]+)"[^>]*clip-path="url\(#[\w-]*-line-(\d+)\)"[^>]*>([^<]*)</text>')
SVG_CHAR_WIDTH = 12.2


def screen_text(app: DashboardApp) -> str:
    """What the terminal shows, as plain text (read from the app's own screenshot)."""
    rows: dict[int, list[tuple[int, str]]] = {}
    for x, line, text in SVG_TEXT.findall(app.export_screenshot()):
        rows.setdefault(int(line), []).append((round(float(x) / SVG_CHAR_WIDTH), html.unescape(text)))
    lines = []
    for number in sorted(rows):
        line = ""
        for column, text in sorted(rows.get(number, [])):
            line = line.ljust(column) + text.replace("\xa0", " ")
        lines.append(line)
    return "\n".join(lines)


def pane_rows(app: DashboardApp, step_id: str) -> list[str]:
    """The rows a step's pane holds (what it shows, scrolled to its end)."""
    transcript = app.panes[step_id].live.transcript
    return [transcript.row(i)[0] for i in range(transcript.row_count)]


async def wait_until(pilot: Any, condition: Callable[[], bool], what: str, tries: int = 400) -> None:
    """Poll (50 ms apart, bounded) for something the engine does in its own time."""
    for _ in range(tries):
        if condition():
            return
        await pilot.pause(0.05)
    raise AssertionError(f"timed out waiting for {what}")


class EngineRun:
    """The dashboard's launch path on an embedded simulator the test can read (its request log)."""

    def __init__(self, workflow: Any, config: SimulatorConfig) -> None:
        self.workflow = workflow
        self.config = config
        self.provider: Any = None
        self.handle: Any = None

    @contextlib.asynccontextmanager
    async def launch(self, handlers: Any) -> AsyncIterator[Any]:
        async with open_provider("simulator", simulator_config=self.config) as provider:
            self.provider = provider
            self.handle = start_run(self.workflow, provider, provider_name="simulator", handlers=handlers)
            yield self.handle


def build_engine_app(folder: Path, steps: str, scenario: dict[str, Any] | None = None, extra: str = "",
                     **options: Any) -> tuple[DashboardApp, EngineRun]:
    """The app on the real engine and an embedded simulator, running `steps` (YAML) in `folder`."""
    document = (
        f"workflow:\n  name: dashboard-test\n  output_dir: {folder / 'outputs'}\n"
        f"  workspace_dir: {folder / 'ws'}\n"
        + textwrap.indent(textwrap.dedent(extra), "  ")
        + "  steps:\n" + textwrap.indent(textwrap.dedent(steps), "    ")
    )
    path = folder / "workflow.yaml"
    path.write_text(document, encoding="utf-8")
    loaded = load_workflow(path)
    assert not loaded.errors, [str(e) for e in loaded.errors]
    config = SimulatorConfig(scenario=Scenario.from_dict(scenario) if scenario else None)
    run = EngineRun(loaded.workflow, config)
    app = dashboard_app(loaded.workflow, run.launch, **options)
    return app, run


@pytest.fixture
def engine_app(tmp_path: Path) -> Callable[..., tuple[DashboardApp, EngineRun]]:
    """`engine_app(steps_yaml, scenario={...})`: the app on the real engine and an embedded simulator."""

    def make(steps: str, scenario: dict[str, Any] | None = None, extra: str = "",
             **options: Any) -> tuple[DashboardApp, EngineRun]:
        return build_engine_app(tmp_path, steps, scenario, extra, **options)

    return make
