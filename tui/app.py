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
from textual.widget import Widget
from textual.widgets import Footer, Label, Tree

from engine.bus import EventBus, Inbox
from tui.clipboard import copy_text
from tui.format import count, money, seconds, tokens
from tui.run_state import RunState, StepState
from tui.themes import DARK, LIGHT, THEMES
from tui.widgets.details import StepDetails
from tui.widgets.gauges import Gauges
from tui.widgets.header import BUDGET_WARNING, RunHeader
from tui.widgets.live_pane import LivePane
from tui.widgets.modals import ConfirmScreen, HelpScreen
from tui.widgets.pane_grid import PaneGrid
from tui.widgets.step_pane import StepPane
from tui.widgets.step_tree import StepTree

TICK_S = 0.1
# Figures that move with every token or second (durations, tokens, cost) are redrawn every this many
# ticks; a change of status or phase is redrawn at the next tick.
FIGURE_TICKS = 10
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


def can_take_focus(widget: Widget) -> bool:
    """A widget that is gone, being removed or hidden (itself or an ancestor) must not take focus: keys
    sent to it reach no binding, not even the app's, and the footer shows none."""
    return widget.is_attached and all(node.display for node in widget.ancestors_with_self
                                      if isinstance(node, Widget))


class DashboardScreen(Screen[None]):
    """The dashboard's screen: focus only ever lands where keys can reach the app's bindings.

    A pane's focus is requested after a refresh (`Widget.focus`); by then the pane may have been
    closed: that request is dropped instead of leaving the focus on a removed widget.
    """

    def set_focus(self, widget: Widget | None, scroll_visible: bool = True,
                  from_app_focus: bool = False) -> None:
        if widget is not None and not can_take_focus(widget):
            return
        super().set_focus(widget, scroll_visible, from_app_focus)


# Opens the run (provider, runner) and yields its handle, started: the app subscribes at once, before
# the run's first await, so no event is missed. Leaving the block closes the provider.
OpenRun = Callable[[], AbstractAsyncContextManager[RunControl]]


class DashboardApp(App[int]):
    """`pipeline run`'s dashboard: header, step tree, live panes, key hints and gauges."""

    # Absolute, so subclasses defined elsewhere (tests, benchmarks) find it too.
    CSS_PATH = Path(__file__).resolve().parent.parent / "styles" / "dashboard.tcss"
    TITLE = "pipeline"
    ALLOW_IN_MAXIMIZED_VIEW = "RunHeader, #footer-bar"
    # Below 100 columns the screen gets `-narrow`: the stylesheet folds the sidebar.
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]]] = [(0, "-narrow"), (100, "-wide")]

    # Every key acts on the selected step, wherever the focus is; the footer shows only the keys that
    # do something now (`check_action`).
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("x", "interrupt_step", "Stop", tooltip="Interrupt the selected step"),
        Binding("X", "interrupt_all", "Stop all", key_display="X",
                tooltip="Interrupt every running step (asks first)"),
        Binding("m", "maximize_pane", "Max", tooltip="Maximize or restore the selected pane"),
        Binding("n", "cycle_pane(1)", "Next", tooltip="Select the next step that has streamed"),
        Binding("p", "cycle_pane(-1)", "Prev", show=False,
                tooltip="Select the previous step that has streamed"),
        # Before the focused widget's own `end` (the tree's): it follows the selected pane from anywhere.
        Binding("end", "follow", "Follow", priority=True,
                tooltip="Jump to the newest text and keep following it"),
        Binding("t", "toggle_thinking", "Thinking", show=False, tooltip="Collapse or expand thinking"),
        Binding("r", "toggle_rendered", "Raw/MD", show=False,
                tooltip="Show a finished answer as Markdown or as the raw stream"),
        Binding("c", "copy_pane", "Copy", show=False, tooltip="Copy the selected step's text"),
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
        # The run's result once it ends (None after a forced quit: `status_line` says what is known).
        self.run_result: RunResultLike | None = None
        self.selected: str | None = None
        # Tasks the user looked at by selecting their parallel step: their panes stay while they look.
        self.viewed: set[str] = set()
        self.quitting = False
        self.resume_requested = False  # R: the caller runs `pipeline resume` once the app has closed
        self.forced_quit = ""
        self.budget_warned = False
        self._ticks = 0
        self._keys_shown: tuple[bool | None, ...] = ()
        self._rate: deque[tuple[float, int]] = deque()
        self.run_header = RunHeader()
        self.step_tree = StepTree(id="steps")
        self.details = StepDetails(id="details")
        self.waiting = Label("waiting for the first step…", id="waiting")
        self.grid = PaneGrid(id="panes")
        self.gauges = Gauges(id="gauges")
        for theme in THEMES:
            self.register_theme(theme)
        self.theme = DARK.name if dark else LIGHT.name

    @property
    def panes(self) -> dict[str, StepPane]:
        return self.grid.panes

    @property
    def main_screen(self) -> Screen[Any]:
        """The dashboard's own screen, under any overlay."""
        return self.screen_stack[0]

    # -- layout -------------------------------------------------------------------------------------

    def get_default_screen(self) -> Screen[Any]:
        return DashboardScreen(id="_default")

    def compose(self) -> ComposeResult:
        yield self.run_header
        with Horizontal(id="body"):
            with Vertical(id="sidebar"):
                yield self.step_tree.heading
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
                self.run_result = await handle
        except Exception as exc:
            self.state.status, self.state.reason = "failed", f"{type(exc).__name__}: {exc}"
            self.notify(self.state.reason, title="The run could not go on", severity="error", timeout=30)
            self.refresh_from_run()
            return
        self.refresh_from_run()
        if self.exit_when_done or self.quitting:
            self.exit(self.exit_code, return_code=self.exit_code)
            return
        result = self.run_result
        self.notify(f"{result.status}{': ' + result.reason if result.reason else ''} · q quits",
                    title="Run finished", severity="information" if result.exit_code == 0 else "warning",
                    timeout=10)

    @property
    def exit_code(self) -> int:
        if self.run_result is not None:
            return self.run_result.exit_code
        return 130 if self.quitting or self.forced_quit else 1

    @property
    def running(self) -> bool:
        return self.run_result is None and self.state.status in ("starting", "running")

    @property
    def status_line(self) -> str:
        """The run in one line, for after the app has closed: status, steps done, time, cost, folder."""
        state = self.state
        status = self.run_result.status if self.run_result is not None else (
            "interrupted" if self.forced_quit else state.status)
        reason = (self.run_result.reason if self.run_result is not None else self.forced_quit) or state.reason
        done = sum(1 for step_id in state.order if state.steps[step_id].status == "succeeded")
        _, _, cost = state.totals()
        parts = [f"run {status}" + (f" ({reason})" if reason and status != "succeeded" else ""),
                 f"{done} of {count(len(state.order), 'step')} done", seconds(state.elapsed_s()), money(cost)]
        if state.run_dir:
            parts.append(state.run_dir)
        return " · ".join(parts)

    # -- the tick: events in, changed widgets out ---------------------------------------------------

    def refresh_from_run(self) -> None:
        """Drain the events that arrived since the last tick and redraw what they changed."""
        if not self.screen_stack:  # closing: the screens are gone, the last tick has nothing to draw on
            return
        events = self.inbox.drain()
        changed = self.state.apply(events) if events else {}
        status_changed = self.state.status_changed if events else set()
        now = self.clock()
        # Each tick refreshes the figures of a tenth of the steps, so no frame repaints them all at once.
        turn = self._ticks % FIGURE_TICKS
        figures_due = turn == 0
        self._ticks += 1
        for step_id in changed:
            self._react_to_step(self.state.steps[step_id])
        if events and self.state.lifecycle_changed:
            self._place_panes(now)
        relabel = [sid for n, (sid, step) in enumerate(self.state.steps.items())
                   if step.running and n % FIGURE_TICKS == turn]
        # A parent's "N of M done" moves when one of its tasks finishes.
        parents = {self.state.steps[sid].parent_id for sid in status_changed} - {None}
        self.step_tree.sync(self.state, [*status_changed, *parents, *relabel], now, self.selected)
        for n, pane in enumerate(self.panes.values()):
            pane.live.sync()
            if n % FIGURE_TICKS == turn or pane.step_id in status_changed:
                self._title_pane(pane, now)
        # Header and gauges sit at the screen's edges: repainting them every tick would stretch each
        # frame's repaint over the whole screen, so they follow the figures' pace (or a status change).
        if figures_due or status_changed or (events and self.state.run_state_changed):
            self.run_header.show(self.state)
            self._show_gauges(now)
            self._warn_budget()
        if figures_due or self.selected in status_changed:
            self.details.show(self.state, self._selected_step(), now)
        self._show_keys()

    def _react_to_step(self, step: StepState) -> None:
        """React to a step that changed: render its answer, stop on error."""
        pane = self.panes.get(step.step_id)
        if step.finished and pane is not None:
            self._show_answer(step, pane)
        if step.status == "failed" and self.stop_on_error and self.handle is not None and self.running:
            self.handle.interrupt_all(f"stop on error: {step.step_id} failed")

    def _place_panes(self, now: float) -> None:
        """Let the grid apply its rules; a new step is selected when nothing else holds the selection."""
        maximized = self._maximized_step()
        opened = self.grid.place(self.state, selected=self.selected, maximized=maximized, viewed=self.viewed)
        for step_id in opened:
            step, pane = self.state.steps[step_id], self.panes[step_id]
            pane.set_class(step_id == self.selected, "-selected")
            self._title_pane(pane, now)
            if step.finished:
                self._show_answer(step, pane)
        self.waiting.display = not self.panes
        # A maximized pane keeps the selection: keys go on acting on what the user is looking at.
        current = self._selected_step()
        if opened and maximized is None and (current is None or current.finished):
            running = [sid for sid in opened if self.state.steps[sid].running]
            self._select((running or opened)[-1], move_cursor=True)
        self.grid.fit_panes(maximized or self.selected)
        self._show_switcher()

    def _show_answer(self, step: StepState, pane: StepPane) -> None:
        answer = step.transcript.answer
        if not answer.strip() or pane.answer_view is not None:
            return
        note = ""
        if step.status != "succeeded":
            why = f": {step.reason}" if step.reason else ""
            note = f"{step.icon} {step.status}{why} — the answer as far as it streamed"
        pane.show_answer(answer, note)

    def _title_pane(self, pane: StepPane, now: float) -> None:
        step = self.state.steps[pane.step_id]
        tokens_in, tokens_out, cost = self.state.figures(step)
        mark = "› " if pane.step_id == self.selected else ""
        title = f"{mark}{step.icon} {step.name} · {self.state.activity(step, now)}"
        subtitle = (f"{seconds(step.duration_s(now))} · {tokens(tokens_in)}/{tokens(tokens_out)} tok"
                    f" · {money(cost)}")
        if step.retries:
            subtitle += f" · ↻{step.retries}"
        live = pane.live
        if not live.follow and live.rows_below:
            subtitle = f"▼ {count(live.rows_below, 'new line')} · end follows · {subtitle}"
        elif not live.follow:
            subtitle = "paused · end follows · " + subtitle
        pane.show_titles(title, subtitle)

    def _show_switcher(self) -> None:
        labels = [(sid, f"{self.state.steps[sid].icon} {self.state.steps[sid].name}") for sid in self.panes]
        self.grid.show_switcher(labels, self._maximized_step() or self.selected)

    def _show_gauges(self, now: float) -> None:
        self._rate.append((now, self.state.output_tokens_seen))
        while len(self._rate) > 2 and now - self._rate[0][0] > RATE_WINDOW_S:
            self._rate.popleft()
        (t0, n0), (t1, n1) = self._rate[0], self._rate[-1]
        rate = (n1 - n0) / (t1 - t0) if t1 > t0 and self.running else 0.0
        self.gauges.show(self.state.streams_in_flight(), self.concurrency_limit,
                         self.state.retries, rate, self.stop_on_error)

    def _warn_budget(self) -> None:
        budget = self.state.budget_usd
        if not budget or self.budget_warned:
            return
        spent = self.state.totals()[2]
        if spent >= BUDGET_WARNING * budget and self.running:
            self.budget_warned = True
            self.notify(f"{money(spent)} of the {money(budget)} budget spent ({100 * spent / budget:.0f}%):"
                        " the run stops when it is reached", title="Budget", severity="warning", timeout=10)

    def _show_keys(self) -> None:
        """Redraw the footer's key hints when what the keys can do has changed."""
        shown = tuple(self.check_action(b.action.split("(")[0], ()) for b in _bindings(self.BINDINGS))
        if shown != self._keys_shown:
            self._keys_shown = shown
            self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Keys that cannot do anything now are hidden from the footer and do nothing."""
        if not self.screen_stack:
            return True
        step = self._selected_step()
        pane = self._selected_pane()
        if action == "interrupt_step":
            return step is not None and step.running and self.handle is not None
        if action == "interrupt_all":
            return self.running and self.handle is not None
        if action == "maximize_pane":
            return pane is not None or self.main_screen.maximized is not None
        if action == "cycle_pane":
            return len(self._streamed()) > 1
        if action == "follow":
            # Off on overlays (the palette's input has its own `end`), and when there is nothing to catch up.
            on_main = self.screen is self.main_screen
            return on_main and pane is not None and not pane.at_end()
        if action == "toggle_thinking":
            return pane is not None
        if action == "toggle_rendered":
            return pane is not None and pane.answer_view is not None
        if action == "copy_pane":
            return step is not None and step.started_at is not None
        if action == "show_run_folder":
            return bool(self.state.run_dir or self.handle)
        return True

    # -- selection ----------------------------------------------------------------------------------

    def _selected_step(self) -> StepState | None:
        return self.state.steps.get(self.selected) if self.selected else None

    def _selected_pane(self) -> StepPane | None:
        return self.panes.get(self.selected) if self.selected else None

    def _maximized_step(self) -> str | None:
        maximized = self.main_screen.maximized
        return maximized.step_id if isinstance(maximized, StepPane) else None

    def _streamed(self) -> list[str]:
        return [step.step_id for step in self.state.leaves() if step.started_at is not None]

    def _select(self, step_id: str, *, move_cursor: bool) -> None:
        previous, self.selected = self.selected, step_id
        step = self.state.steps[step_id]
        self.viewed = {c for c in step.children if self.state.steps[c].started_at is not None}
        tree = self.step_tree
        now = self.clock()
        tree.relabel(self.state, previous, now, step_id)
        tree.relabel(self.state, step_id, now, step_id)
        if move_cursor:
            tree.select_step(step_id)
        self._place_panes(now)
        for sid in (previous, step_id):
            if sid in self.panes:
                self.panes[sid].set_class(sid == step_id, "-selected")
                self._title_pane(self.panes[sid], now)
        self.details.show(self.state, step, now)
        self._show_keys()

    @on(Tree.NodeHighlighted, "#steps")
    def _step_highlighted(self, event: Tree.NodeHighlighted[str]) -> None:
        step_id = event.node.data
        if step_id is not None and step_id in self.state.steps and step_id != self.selected:
            self._select(step_id, move_cursor=False)

    @on(Tree.NodeSelected, "#steps")
    def _step_chosen(self, event: Tree.NodeSelected[str]) -> None:
        step_id = event.node.data
        if step_id in self.panes:
            self.panes[step_id].content().focus()

    @on(StepPane.Focused)
    def _pane_focused(self, event: StepPane.Focused) -> None:
        if event.pane.step_id != self.selected:
            self._select(event.pane.step_id, move_cursor=True)

    @on(LivePane.FollowChanged)
    def _follow_changed(self, event: LivePane.FollowChanged) -> None:
        pane = event.pane.parent
        if isinstance(pane, StepPane):
            self._title_pane(pane, self.clock())
        self._show_keys()

    # -- actions ------------------------------------------------------------------------------------

    def action_interrupt_step(self) -> None:
        step = self._selected_step()
        if step is not None and step.running and self.handle is not None:
            self.handle.interrupt(step.step_id, USER_REASON)
            self.notify(f"stopping {step.step_id}", title="Interrupt")

    def action_interrupt_all(self) -> None:
        if not self.running or self.handle is None:
            return
        streams = count(self.state.streams_in_flight(), "stream")

        def answer(yes: bool | None) -> None:
            if yes and self.handle is not None and self.running:
                self.handle.interrupt_all(USER_REASON)
                self.notify("stopping every running step", title="Interrupt all")

        self.push_screen(
            ConfirmScreen("Stop every running step?",
                          f"{streams} will be interrupted; their partial text is kept and the steps not"
                          " yet started are skipped.", "Stop all"),
            answer,
        )

    def action_toggle_stop_on_error(self) -> None:
        self.stop_on_error = not self.stop_on_error
        what = ("any failed step interrupts the whole run" if self.stop_on_error
                else "a failed step follows the workflow's on_error")
        self.notify(what, title=f"Stop on error {'on' if self.stop_on_error else 'off'}")
        self._show_gauges(self.clock())

    def action_maximize_pane(self) -> None:
        """Maximize the selected pane; it stays maximized (new steps get panes behind it) until `m` or
        `escape` restores it."""
        if self.main_screen.maximized is not None:
            self.main_screen.minimize()
            self._place_panes(self.clock())
            return
        pane = self._selected_pane()
        if pane is not None:
            self.main_screen.maximize(pane, container=False)
            pane.content().focus()

    def action_cycle_pane(self, step: int) -> None:
        """Select the next (or previous) step that has streamed, bringing its pane into view."""
        streamed = self._streamed()
        if not streamed:
            return
        index = streamed.index(self.selected) + step if self.selected in streamed else 0
        target = streamed[index % len(streamed)]
        maximized = self.main_screen.maximized is not None
        self._select(target, move_cursor=True)
        pane = self.panes.get(target)
        if pane is None:
            return
        if maximized:
            # A pane opened just now is mounted after this refresh.
            self.call_after_refresh(self._maximize, target)
        elif self.focused is not None and any(isinstance(node, StepPane) for node in self.focused.ancestors):
            pane.content().focus()  # the focus was in a pane: it moves along

    def _maximize(self, step_id: str) -> None:
        pane = self.panes.get(step_id)
        if pane is not None and can_take_focus(pane):
            self.main_screen.maximize(pane, container=False)
            pane.content().focus()
            self._show_switcher()

    def action_follow(self) -> None:
        pane = self._selected_pane()
        if pane is not None and pane.rendered and pane.answer_view is not None:
            pane.answer_view.scroll_end(animate=False)
        elif pane is not None:
            pane.live.action_follow()

    def action_toggle_thinking(self) -> None:
        pane = self._selected_pane()
        if pane is not None:
            pane.live.action_toggle_thinking()

    def action_toggle_rendered(self) -> None:
        pane = self._selected_pane()
        if pane is not None:
            pane.toggle_rendered()

    def action_copy_pane(self) -> None:
        step = self._selected_step()
        if step is None:
            return
        pane = self.panes.get(step.step_id)
        text = step.transcript.answer if pane is not None and pane.rendered else step.transcript.plain_text()
        message = copy_text(text, step.step_id, self._run_folder(), self.copy_to_clipboard)
        self.notify(message, title=f"Copy {step.step_id}", timeout=8)

    def action_show_run_folder(self) -> None:
        folder = self._run_folder()
        message = copy_text(str(folder), "run-folder", folder, self.copy_to_clipboard)
        self.notify(f"{folder}\n(run.json, events.jsonl and streams/ are there)\npath: {message}",
                    title="Run folder", timeout=10)

    def action_resume_run(self) -> None:
        if self.run_result is None or self.run_result.status not in ("failed", "interrupted"):
            self.notify("R resumes a run once it has stopped or failed", severity="warning")
            return
        self.resume_requested = True
        self.exit(self.exit_code, return_code=self.exit_code)

    def _run_folder(self) -> Path:
        if self.state.run_dir:
            return Path(self.state.run_dir)
        return Path(self.handle.run_dir) if self.handle is not None else Path.cwd()

    def deliver_screenshot(self, filename: str | None = None, path: str | None = None,
                           time_format: str | None = None) -> str | None:
        """Screenshots go to ~/Downloads when it exists, else to the run folder; the message says where."""
        downloads = Path.home() / "Downloads"
        folder = Path(path) if path else downloads if downloads.is_dir() else self._run_folder()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            saved = self.save_screenshot(filename, str(folder), time_format)
        except OSError as exc:
            self.notify(f"could not save the screenshot in {folder}: {exc.strerror or exc}",
                        title="Screenshot", severity="error")
            return None
        self.notify(saved, title="Screenshot saved", timeout=10)
        return saved

    def action_help(self) -> None:
        self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        keys = [(_key_name(b), b.tooltip or b.description) for b in _bindings(self.BINDINGS) if b.tooltip]
        keys += [("↑↓ pgup pgdn home", "Scroll the focused pane (scrolling up pauses follow)"),
                 ("tab", "Move focus: step tree, panes"), ("escape", "Close an overlay, restore a pane"),
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
        if self.run_result is not None:
            return
        self.forced_quit = reason
        if self.on_forced_quit is not None:
            self.on_forced_quit(reason)
        self.exit(130, return_code=130)

    # -- command palette ----------------------------------------------------------------------------

    def get_system_commands(self, screen: Screen[Any]) -> Iterable[SystemCommand]:
        yield from super().get_system_commands(screen)
        for binding in _bindings(self.BINDINGS):
            if binding.tooltip:
                yield SystemCommand(f"{binding.description} ({_key_name(binding)})", binding.tooltip,
                                    _action_command(self, binding.action))
        yield SystemCommand("Light/dark theme", "Switch between the light and the dark theme",
                            self.action_toggle_theme)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT.name if self.theme == DARK.name else DARK.name


def _action_command(app: App[Any], action: str) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        await app.run_action(action)

    return run


def _bindings(bindings: list[BindingType]) -> list[Binding]:
    return [b for b in bindings if isinstance(b, Binding)]


def _key_name(binding: Binding) -> str:
    return binding.key_display or binding.key.split(",")[0]
