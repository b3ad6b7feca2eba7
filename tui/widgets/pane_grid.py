"""The grid of step panes, and the rules that decide which steps have a pane and in what order.

The rules (`place_panes`), so a user can predict them:
- every running step has a pane, and running panes come first (then the others, in tree order);
- a step that finishes keeps its pane while its step (or its parallel group) is the latest to start;
- a stopped, failed, selected, maximized or looked-at pane stays until its space is needed;
- when space is needed, succeeded panes go first (oldest first), then stopped and failed ones, then
  looked-at ones; running, selected and maximized panes never go;
- a pane that went is not reopened unless the user selects its step.

When the running panes alone do not fit at their smallest size (small terminals, many tasks), the
grid shows one pane at a time under a switcher row (`n`/`p` move through them).
"""

from __future__ import annotations

import math
from collections.abc import Collection, Iterable, Sequence

from textual import events
from textual.containers import Container
from textual.widget import Widget
from textual.widgets import Static

from tui.run_state import RunState, StepState
from tui.transcript import Transcript
from tui.widgets.live_pane import LivePane
from tui.widgets.step_pane import StepPane

MIN_PANE_WIDTH = 30
MIN_PANE_HEIGHT = 7
# Panes shown at once however large the terminal.
MAX_PANES = 16
KEPT = ("failed", "interrupted")


def place_panes(
    state: RunState,
    shown: Collection[str],
    *,
    seen: Collection[str],
    selected: str | None,
    maximized: str | None,
    viewed: Collection[str],
    capacity: int,
) -> list[str]:
    """The steps that have a pane, in the order they show (see the module's rules)."""
    started = [step for step in state.leaves() if step.started_at is not None]
    if not started:
        return []
    latest = max(started, key=lambda step: step.start_order)
    front = state.top_level(latest.step_id)

    def wanted(step: StepState) -> bool:
        step_id = step.step_id
        if step.running or step_id in (selected, maximized) or step_id in viewed:
            return True
        if step_id in seen and step_id not in shown:
            return False
        return step.status in KEPT or state.top_level(step_id) == front

    chosen = [step for step in started if wanted(step)]
    chosen.sort(key=lambda step: not step.running)  # stable: tree order within each group

    def goes_first(step: StepState) -> tuple[bool, bool, int]:
        return (step.step_id in viewed, step.status in KEPT, step.start_order)

    while len(chosen) > capacity:
        evictable = [s for s in chosen if not s.running and s.step_id not in (selected, maximized)]
        if not evictable:
            break
        chosen.remove(min(evictable, key=goes_first))
    return [step.step_id for step in chosen]


def _show(widget: Widget, shown: bool) -> None:
    if widget.display != shown:
        widget.display = shown


class PaneGrid(Container):
    """Lays out the panes side by side, as many columns as fit; one at a time with a switcher when they
    cannot fit."""

    DEFAULT_CSS = """
    PaneGrid { layout: grid; }
    PaneGrid > #switcher { column-span: 99; height: 1; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.panes: dict[str, StepPane] = {}
        # Steps that had a pane once: one that went is not reopened by the rules (see `place_panes`).
        self.seen: set[str] = set()
        self.switcher = Static(id="switcher", markup=False)
        self.switcher.display = False
        self.single = False
        self._grid: tuple[int, int, str] = (0, 0, "")

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.switcher

    @property
    def capacity(self) -> int:
        """How many panes fit at their smallest size."""
        width, height = self.size
        if width == 0 or height == 0:
            return MAX_PANES
        fit = max(1, width // MIN_PANE_WIDTH) * max(1, height // MIN_PANE_HEIGHT)
        return min(MAX_PANES, fit)

    def place(self, state: RunState, *, selected: str | None, maximized: str | None,
              viewed: Collection[str]) -> list[str]:
        """Open, close and order panes by the rules; returns the ids of the panes opened."""
        wanted = place_panes(state, self.panes, seen=self.seen, selected=selected, maximized=maximized,
                             viewed=viewed, capacity=self.capacity)
        for step_id in [sid for sid in self.panes if sid not in wanted]:
            self.close(step_id)
        opened = []
        for step_id in wanted:
            if step_id not in self.panes:
                self._open(state.steps[step_id].transcript, step_id)
                opened.append(step_id)
        self._order(wanted)
        self.panes = {step_id: self.panes[step_id] for step_id in wanted}
        self.fit_panes(selected)
        return opened

    def _open(self, transcript: Transcript, step_id: str) -> None:
        pane = StepPane(step_id, LivePane(transcript))
        self.panes[step_id] = pane
        self.seen.add(step_id)
        self.mount(pane)

    def close(self, step_id: str) -> None:
        pane = self.panes.pop(step_id)
        if self.screen.maximized is pane:
            self.screen.minimize()
        pane.remove()

    def _order(self, wanted: Sequence[str]) -> None:
        panes = [self.panes[step_id] for step_id in wanted]
        current = [child for child in self.children if isinstance(child, StepPane) and child in panes]
        if current != panes:
            before: Widget = self.switcher
            for pane in panes:
                self.move_child(pane, after=before)
                before = pane

    def on_resize(self, event: events.Resize) -> None:
        self.fit_panes()

    def fit_panes(self, selected: str | None = None) -> None:
        """Columns and rows for the panes, or one pane and the switcher when they do not fit."""
        panes = list(self.panes.values())
        count = len(panes)
        if count == 0:
            self.switcher.display = False
            return
        self.single = count > self.capacity
        _show(self.switcher, self.single)
        if self.single:
            current = self.panes.get(selected or "") or next(
                (p for p in panes if p.display), panes[0])
            for pane in panes:
                _show(pane, pane is current)
            self._set_grid(1, 2, "1 1fr")
            return
        for pane in panes:
            _show(pane, True)
        width, _ = self.size
        columns = max(1, min(count, width // MIN_PANE_WIDTH))
        rows = math.ceil(count / columns)
        columns = math.ceil(count / rows)  # balance: 5 panes on 3 columns become 3 + 2
        self._set_grid(columns, rows, "1fr")

    def _set_grid(self, columns: int, rows: int, row_sizes: str) -> None:
        # Assigned only when they change: each assignment lays the whole grid out again.
        if self._grid != (columns, rows, row_sizes):
            self._grid = (columns, rows, row_sizes)
            self.styles.grid_size_columns = columns
            self.styles.grid_size_rows = rows
            self.styles.grid_rows = row_sizes

    def show_switcher(self, labels: Iterable[tuple[str, str]], selected: str | None) -> None:
        """The switcher row: the pane shown (in brackets), then the ones after it, round to the start."""
        if not self.single:
            return
        labels = list(labels)
        ids = [step_id for step_id, _ in labels]
        shown = next((sid for sid, pane in self.panes.items() if pane.display), ids[0] if ids else None)
        index = ids.index(shown) if shown in ids else 0
        parts = [f"[{label}]" if step_id == shown else label
                 for step_id, label in labels[index:] + labels[:index]]
        text = f"{index + 1}/{len(ids)} n/p: " + " ".join(parts)
        if str(self.switcher.content) != text:
            self.switcher.update(text, layout=False)
