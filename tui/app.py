"""The dashboard: a Textual app that runs a workflow in its own event loop and shows every step live.

The app is one more subscriber of the engine's events: a timer drains its inbox every 100 ms, folds the
batch into `RunState` and redraws only what changed. Control goes back through the run handle.
"""

from __future__ import annotations

import asyncio
import gc
import signal
import time
from collections import deque
from collections.abc import Awaitable, Callable, Generator, Iterable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any, ClassVar, Protocol

from textual import on
from textual.app import App, ComposeResult, SystemCommand
from textual.binding import Binding, BindingType
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label, Static, Tree

from engine.bus import EventBus, Inbox
from tui.format import money, seconds, tokens
from tui.run_state import RunState, StepState
from tui.themes import DARK, LIGHT, THEMES
from tui.widgets.gauges import Gauges
from tui.widgets.header import RunHeader
from tui.widgets.live_pane import LivePane
from tui.widgets.modals import ConfirmScreen, HelpScreen
from tui.widgets.step_pane import PaneGrid, StepPane
from tui.widgets.step_tree import StepTree

TICK_S = 0.1
# Figures that move with every token or second (durations, tokens, cost) are redrawn every this many
# ticks; a change of status or phase is redrawn at the next tick.
FIGURE_TICKS = 10
# Panes shown at once: past this, the oldest finished ones make room (running ones always show).
MAX_PANES = 16
# After a confirmed quit, how long running steps get to stop before the record is written by force.
QUIT_GRACE_S = 5.0
RATE_WINDOW_S = 2.0
USER_REASON = "interrupted by user (dashboard)"


class RunResultLike(Protocol):
    status: str
    reason: str

    @property
    def exit_code(self) -> int: ...


class RunControl(Protocol):
    """What the dashboard needs of a run: its events and its controls (the engine's `RunHandle` fits)."""

    bus: EventBus
    run_dir: Path

    def interrupt(self, step_id: str, reason: str = ...) -> bool: ...

    def interrupt_all(self, reason: str = ...) -> None: ...

    def __await__(self) -> Generator[Any, None, RunResultLike]: ...


# Opens the run (provider, runner) and yields its handle, started: the app subscribes at once, before
# the run's first await, so no event is missed. Leaving the block closes the provider.
OpenRun = Callable[[], AbstractAsyncContextManager[RunControl]]


class DashboardApp(App[int]):
    """`pipeline run`'s dashboard: header, step tree, live panes, key hints and gauges."""

    # Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).resolve().parent.parent / "styles" / "dashboard.tcss"
    TITLE = "pipeline"
    ALLOW_IN_MAXIMIZED_VIEW = "RunHeader, #footer-bar"
    # Below 100 columns the screen gets `-narrow`: the stylesheet drops what is least needed.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "interrupt_step", "Stop", tooltip="Interrupt the selected step"),
        Binding("X", "interrupt_all", "Stop all", key_display="X",
                tooltip="Interrupt every running step (asks first)"),
        Binding("m", "maximize_pane", "Max", tooltip="Maximize or restore the selected pane"),
        Binding("n", "cycle_pane(1)", "Next", show=False, tooltip="Select the next pane"),
        Binding("p", "cycle_pane(-1)", "Prev", show=False, tooltip="Select the previous pane"),
        Binding("r", "toggle_rendered", "Raw/MD", show=False,
                tooltip="Show a finished answer as Markdown or as the raw stream"),
        Binding("c", "copy_pane", "Copy", show=False, tooltip="Copy the selected pane's text"),
        Binding("e", "toggle_stop_on_error", "Stop-on-err", show=False,
                tooltip="Interrupt everything the moment a step fails"),
        Binding("o", "show_run_folder", "Folder", show=False, tooltip="Show (and copy) the run folder path"),
        Binding("R", "resume_run", "Resume", show=False, key_display="R",
                tooltip="Once the run stopped or failed: run it again, reusing the steps that succeeded"),
        Binding("question_mark", "help", "Help", key_display="?", tooltip="All keys"),
        Binding("q", "quit", "Quit", tooltip="Quit (asks while the run is going)"),
        Binding("ctrl+c", "quit", "Quit", show=False, priority=True),
    ]

    def __init__(
        self,
        open_run: OpenRun,
        *,
        exit_when_done: bool = False,
        stop_on_error: bool = False,
        concurrency_limit: int | None = None,
        on_forced_quit: Callable[[str], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        dark: bool = True,
        handle_sigterm: bool = False,
    ) -> None:
        super().__init__()
        self.open_run = open_run
        self.exit_when_done = exit_when_done
        self.stop_on_error = stop_on_error
        self.concurrency_limit = concurrency_limit
        self.on_forced_quit = on_forced_quit
        self.clock = clock
        self.handle_sigterm = handle_sigterm
        self.state = RunState(clock)
        self.inbox = Inbox()
        self.handle: RunControl | None = None
        self.result: RunResultLike | None = None
        self.panes: dict[str, StepPane] = {}
        self.selected: str | None = None
        self.quitting = False
        self.resume_requested = False  # R: the caller runs `pipeline resume` once the app has closed
        self._ticks = 0
        # Steps that got a pane once: a pane the user closed by looking elsewhere is not reopened.
        self._seen: set[str] = set()
        self._rate: deque[tuple[float, int]] = deque()
        self.run_header = RunHeader()
        self.step_tree = StepTree(id="steps")
        self.details = Static(id="details", markup=False)
        self.waiting = Label("waiting for the first step…", id="waiting")
        self.grid = PaneGrid(id="panes")
        self.gauges = Gauges(id="gauges")
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = DARK.name if dark else LIGHT.name

    # -- layout -------------------------------------------------------------------------------------

    def compose(self) -> ComposeResult:
        yield self.run_header
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield self.step_tree
                yield self.details
            with Vertical(id="main"):
                yield self.waiting
                yield self.grid
        with Horizontal(id="footer-bar"):
            # The palette is listed in the help (`?`); its hint would crowd out the run's own keys.
            yield Footer(show_command_palette=False)
            yield self.gauges

    def on_mount(self) -> None:
        self.set_interval(TICK_S, self.refresh_from_run, name="dashboard-tick")
        # Paint the first screen before the engine (and the SDK behind it) is imported and started.
        self.call_after_refresh(self._start_run)
        self.refresh_from_run()

    def _start_run(self) -> None:
        self.run_worker(self._drive_run(), name="run", exit_on_error=False)

    async def _drive_run(self) -> None:
        try:
            async with self.open_run() as handle:
                self.handle = handle
                handle.bus.subscribe(self.inbox)
                # Everything imported and built so far lives as long as the app: keep it out of the
                # collector, whose full passes over it would otherwise stall frames while text streams.
                gc.freeze()
                if self.handle_sigterm:
                    loop = asyncio.get_running_loop()
                    loop.add_signal_handler(signal.SIGTERM, handle.interrupt_all, "terminated (SIGTERM)")
                self.result = await handle
        except Exception as exc:
            self.state.status, self.state.reason = "failed", f"{type(exc).__name__}: {exc}"
            self.notify(self.state.reason, title="The run could not go on", severity="error", timeout=30)
            self.refresh_from_run()
            return
        self.refresh_from_run()
        if self.exit_when_done or self.quitting:
            self.exit(self.exit_code, return_code=self.exit_code)
            return
        result = self.result
        self.notify(f"{result.status}{': ' + result.reason if result.reason else ''} · q quits",
                    title="Run finished", severity="information" if result.exit_code == 0 else "warning",
                    timeout=10)

    @property
    def exit_code(self) -> int:
        if self.result is not None:
            return self.result.exit_code
        return 130 if self.quitting else 1

    @property
    def running(self) -> bool:
        return self.result is None and self.state.status in ("starting", "running")

    # -- the tick: events in, changed widgets out ---------------------------------------------------

    def refresh_from_run(self) -> None:
        """Drain the events that arrived since the last tick and redraw what they changed."""
        events = self.inbox.drain()
        changed = self.state.apply(events) if events else {}
        restated = self.state.restated if events else set()
        now = self.clock()
        # Each tick refreshes the figures of a tenth of the steps, so no frame repaints them all at once.
        turn = self._ticks % FIGURE_TICKS
        figures_due = turn == 0
        self._ticks += 1
        for step_id in changed:
            self._follow_step(self.state.steps[step_id])
        relabel = [sid for n, (sid, step) in enumerate(self.state.steps.items())
                   if step.running and n % FIGURE_TICKS == turn]
        self.step_tree.sync(self.state, [*restated, *relabel], now, self.selected)
        for n, pane in enumerate(self.panes.values()):
            pane.live.sync()
            if n % FIGURE_TICKS == turn or pane.step_id in restated:
                self._title_pane(pane, now)
        # Header and gauges sit at the screen's edges: repainting them every tick would stretch each
        # frame's repaint over the whole screen, so they follow the figures' pace (or a status change).
        if figures_due or restated or (events and self.state.run_restated):
            self.run_header.show(self.state)
            self._show_gauges(now)
        if figures_due or self.selected in restated:
            self._show_details(now)

    def _follow_step(self, step: StepState) -> None:
        """React to a step that changed: open its pane, render its answer, stop on error."""
        if step.children and step.step_id in self.panes:
            self._close_pane(step.step_id)
        # A step may start and end within one tick: it gets its pane all the same.
        started = step.started_at is not None
        if started and not step.children and step.step_id not in self._seen:
            self._seen.add(step.step_id)
            self._open_pane(step)
            if self.selected is None or self.state.steps[self.selected].finished:
                self._select(step.step_id, move_cursor=True)
        pane = self.panes.get(step.step_id)
        if step.finished and pane is not None:
            self._show_answer(step, pane)
        if step.status == "failed" and self.stop_on_error and self.handle is not None and self.running:
            self.handle.interrupt_all(f"stop on error: {step.step_id} failed")

    def _show_answer(self, step: StepState, pane: StepPane) -> None:
        transcript = step.transcript
        if step.status == "succeeded" and transcript.answer.strip() and pane.answer_view is None:
            pane.show_answer(transcript.answer)

    def _open_pane(self, step: StepState) -> None:
        for step_id in list(self.panes):
            other = self.state.steps[step_id]
            sibling = step.parent_id is not None and other.parent_id == step.parent_id
            if step_id == step.parent_id or (other.finished and not sibling):
                self._close_pane(step_id)
        finished = [sid for sid in self.panes if self.state.steps[sid].finished]
        while len(self.panes) >= MAX_PANES and finished:
            self._close_pane(finished.pop(0))
        pane = StepPane(step.step_id, LivePane(step.transcript))
        pane.set_class(step.step_id == self.selected, "-selected")
        self.panes[step.step_id] = pane
        self.grid.mount(pane)
        self.grid.fit_panes()
        self._title_pane(pane, self.clock())
        self.waiting.display = False
        if step.finished:
            self._show_answer(step, pane)

    def _close_pane(self, step_id: str) -> None:
        pane = self.panes.pop(step_id)
        if self.screen.maximized is pane:
            self.screen.minimize()
        pane.remove()
        self.call_after_refresh(self.grid.fit_panes)

    def _show_step(self, step_id: str) -> None:
        """Bring a step into view: its pane, or for a parallel step the panes of its tasks."""
        step = self.state.steps[step_id]
        wanted = [self.state.steps[c] for c in step.children] if step.children else [step]
        wanted = [s for s in wanted if s.started_at is not None][:MAX_PANES]
        if not wanted or all(s.step_id in self.panes for s in wanted):
            return
        for other in list(self.panes):
            if self.state.steps[other].finished:
                self._close_pane(other)
        for target in wanted:
            if target.step_id not in self.panes:
                self._open_pane(target)

    def _title_pane(self, pane: StepPane, now: float) -> None:
        step = self.state.steps[pane.step_id]
        tokens_in, tokens_out, cost = self.state.figures(step)
        mark = "› " if pane.step_id == self.selected else ""
        title = f"{mark}{step.icon} {step.name} · {step.activity(now)}"
        subtitle = (f"{seconds(step.duration_s(now))} · {tokens(tokens_in)}/{tokens(tokens_out)} tok"
                    f" · {money(cost)}")
        if step.retries:
            subtitle += f" · ↻{step.retries}"
        live = pane.live
        if not live.follow and live.rows_below:
            waiting = f"{live.rows_below} new line{'s' if live.rows_below != 1 else ''}"
            subtitle = f"▼ {waiting} · end follows · {subtitle}"
        elif not live.follow:
            subtitle = "paused · end follows · " + subtitle
        pane.show_titles(title, subtitle)

    def _show_details(self, now: float) -> None:
        details = self.details
        step = self.state.steps.get(self.selected) if self.selected else None
        text = _details_text(self.state, step, now) if step else "select a step to see its details"
        if str(details.content) != text:
            details.update(text, layout=False)  # fixed height: a new text never moves anything

    def _show_gauges(self, now: float) -> None:
        self._rate.append((now, self.state.output_tokens_seen))
        while len(self._rate) > 2 and now - self._rate[0][0] > RATE_WINDOW_S:
            self._rate.popleft()
        (t0, n0), (t1, n1) = self._rate[0], self._rate[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 and self.running else 0.0
        self.gauges.show(self.state.streams_in_flight(), self.concurrency_limit,
                                    self.state.retries, rate, self.stop_on_error)

    # -- selection ----------------------------------------------------------------------------------

    def _select(self, step_id: str, *, move_cursor: bool) -> None:
        previous, self.selected = self.selected, step_id
        tree = self.step_tree
        now = self.clock()
        tree.relabel(self.state, previous, now, step_id)
        tree.relabel(self.state, step_id, now, step_id)
        for sid in (previous, step_id):
            if sid in self.panes:
                self.panes[sid].set_class(sid == step_id, "-selected")
                self._title_pane(self.panes[sid], now)
        if move_cursor:
            tree.select_step(step_id)
        self._show_details(now)

    @on(Tree.NodeHighlighted, "#steps")
    def _step_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        step_id = event.node.data
        if step_id is None or step_id not in self.state.steps:
            return
        if step_id != self.selected:
            self._select(step_id, move_cursor=False)
        self._show_step(step_id)

    @on(Tree.NodeSelected, "#steps")
    def _step_chosen(self, event: Tree.NodeSelected[str]) -> None:
        step_id = event.node.data
        if step_id in self.panes:
            self.panes[step_id].focus_content()

    @on(StepPane.Focused)
    def _pane_focused(self, event: StepPane.Focused) -> None:
        if event.pane.step_id != self.selected:
            self._select(event.pane.step_id, move_cursor=True)

    @on(LivePane.FollowChanged)
    def _follow_changed(self, event: LivePane.FollowChanged) -> None:
        pane = event.pane.parent
        if isinstance(pane, StepPane):
            self._title_pane(pane, self.clock())

    def _selected_pane(self) -> StepPane | None:
        if self.selected in self.panes:
            return self.panes[self.selected]
        return None

    # -- actions ------------------------------------------------------------------------------------

    def action_interrupt_step(self) -> None:
        step = self.state.steps.get(self.selected) if self.selected else None
        if step is None or self.handle is None:
            self.notify("no step selected", severity="warning")
            return
        if not step.running:
            self.notify(f"{step.step_id} is not running ({step.status})", severity="warning")
            return
        if self.handle.interrupt(step.step_id, USER_REASON):
            self.notify(f"stopping {step.step_id}", title="Interrupt")

    def action_interrupt_all(self) -> None:
        if not self.running or self.handle is None:
            self.notify("the run is not going", severity="warning")
            return
        count = self.state.streams_in_flight()

        def answer(yes: bool | None) -> None:
            if yes and self.handle is not None and self.running:
                self.handle.interrupt_all(USER_REASON)
                self.notify("stopping every running step", title="Interrupt all")

        self.push_screen(
            ConfirmScreen("Stop every running step?",
                          f"{count} stream{'s' if count != 1 else ''} will be interrupted; their partial"
                          " text is kept and the steps not yet started are skipped.", "Stop all"),
            answer,
        )

    def action_toggle_stop_on_error(self) -> None:
        self.stop_on_error = not self.stop_on_error
        what = ("any failed step interrupts the whole run" if self.stop_on_error
                else "a failed step follows the workflow's on_error")
        self.notify(what, title=f"Stop on error {'on' if self.stop_on_error else 'off'}")
        self._show_gauges(self.clock())

    def action_maximize_pane(self) -> None:
        if self.screen.maximized is not None:
            self.screen.minimize()
            return
        pane = self._selected_pane() or next(iter(self.panes.values()), None)
        if pane is None:
            self.notify("no pane to maximize", severity="warning")
            return
        pane.focus_content()
        self.screen.maximize(pane, container=False)

    def action_cycle_pane(self, step: int) -> None:
        panes = list(self.query(StepPane))
        if not panes:
            return
        current = self._selected_pane()
        index = panes.index(current) + step if current in panes else 0
        target = panes[index % len(panes)]
        maximized = self.screen.maximized is not None
        target.focus_content()
        if maximized:
            self.screen.maximize(target, container=False)

    def action_toggle_rendered(self) -> None:
        pane = self._selected_pane()
        if pane is None or not pane.toggle_rendered():
            self.notify("a rendered answer shows once a step has succeeded", severity="warning")

    def action_copy_pane(self) -> None:
        step = self.state.steps.get(self.selected) if self.selected else None
        if step is None:
            self.notify("no step selected", severity="warning")
            return
        pane = self.panes.get(step.step_id)
        text = step.transcript.answer if pane is not None and pane.rendered else step.transcript.plain_text()
        self.copy_to_clipboard(text)
        self.notify(f"{len(text):,} characters of {step.step_id} copied to the clipboard", title="Copied")

    def action_show_run_folder(self) -> None:
        folder = self.state.run_dir or (str(self.handle.run_dir) if self.handle else "")
        if not folder:
            self.notify("the run has not started yet", severity="warning")
            return
        self.copy_to_clipboard(folder)
        self.notify(f"{folder}\n(path copied; run.json, events.jsonl and streams/ are there)",
                    title="Run folder", timeout=10)

    def action_resume_run(self) -> None:
        if self.result is None or self.result.status not in ("failed", "interrupted"):
            self.notify("R resumes a run once it has stopped or failed", severity="warning")
            return
        self.resume_requested = True
        self.exit(self.exit_code, return_code=self.exit_code)

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        keys = [(_key_name(b), b.tooltip or b.description) for b in _bindings(self.BINDINGS) if b.tooltip]
        keys += [(_key_name(b), b.tooltip or b.description) for b in _bindings(LivePane.BINDINGS)]
        keys += [("tab", "Move focus: step tree, panes"), ("escape", "Close an overlay, restore a pane"),
                 ("ctrl+p", "Command palette")]
        return keys

    async def action_quit(self) -> None:
        if not self.running or self.handle is None:
            self.exit(self.exit_code, return_code=self.exit_code)
            return
        if self.quitting:
            self._force_quit("forced quit (asked twice)")
            return

        def answer(yes: bool | None) -> None:
            if yes:
                self._quit_cleanly()

        self.push_screen(
            ConfirmScreen("Quit while the run is going?",
                          "Running steps are interrupted (their partial text is kept) and the run record"
                          " is written before the dashboard closes.", "Quit"),
            answer,
        )

    def _quit_cleanly(self) -> None:
        if self.handle is None or not self.running:
            self.exit(self.exit_code, return_code=self.exit_code)
            return
        self.quitting = True
        self.handle.interrupt_all("quit from the dashboard")
        self.notify("stopping the running steps…", title="Quitting")
        self.set_timer(QUIT_GRACE_S, lambda: self._force_quit("forced quit (steps did not stop in time)"))

    def _force_quit(self, reason: str) -> None:
        if self.result is not None:
            return
        if self.on_forced_quit is not None:
            self.on_forced_quit(reason)
        self.exit(130, return_code=130)

    # -- command palette ----------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in _bindings(self.BINDINGS):
            if binding.tooltip:
                yield SystemCommand(f"{binding.description} ({_key_name(binding)})", binding.tooltip,
                                    _runner(self, binding.action))
        yield SystemCommand("Light/dark theme", "Switch between the light and the dark theme",
                            self.action_toggle_theme)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT.name if self.theme == DARK.name else DARK.name


def _runner(app: App[Any], action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await app.run_action(action)

    return run


def _bindings(bindings: list[BindingType]) -> list[Binding]:
    return [b for b in bindings if isinstance(b, Binding)]


def _key_name(binding: Binding) -> str:
    return binding.key_display or binding.key.split(",")[0]


def _details_text(state: RunState, step: StepState, now: float) -> str:
    tokens_in, tokens_out, cost = state.figures(step)
    lines = [
        step.step_id,
        " · ".join(part for part in (step.step_type, step.model) if part) or "not started",
        f"{step.icon} {step.activity(now)}",
        f"{seconds(step.duration_s(now))} · in {tokens(tokens_in)} · out {tokens(tokens_out)}"
        f" · {money(cost)}",
        f"retries {step.retries} · tool calls {step.tool_calls}",
    ]
    metrics = step.metrics
    if metrics is not None and metrics.ttft_s is not None:
        rate = f" · {metrics.output_tokens_per_s:.0f} tok/s" if metrics.output_tokens_per_s else ""
        lines.append(f"first token {metrics.ttft_s:.2f}s{rate}")
    if step.error:
        lines.append(f"error: {step.error}")
    return "\n".join(lines)
