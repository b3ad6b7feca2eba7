"""The step tree: every step, parallel tasks and batch items beneath their step, in columns.

Columns: name, state, time, tokens, cost. They line up whatever a row's depth, never clip: the name is
truncated first (down to `MIN_NAME` cells), then columns drop, tokens first, state last.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.widgets import Label, Tree
from textual.widgets.tree import TreeNode

from tui.format import money, seconds, tokens
from tui.run_state import RunState, StepState

# Marks the selected row in its text, so the selection shows without colour (NO_COLOR, monochrome).
SELECTED_MARK = "›"
# The mark, the icon and a space before the name.
LEAD = 3
WIDTHS = {"state": 10, "time": 5, "tokens": 5, "cost": 6}
HEADINGS = {"state": "state", "time": "time", "tokens": "tok", "cost": "cost"}
DROP_ORDER = ("tokens", "time", "cost", "state")
MIN_NAME = 8
# Textual's tree: an expandable row starts with its toggle, each level below the top is indented.
TOGGLE = 2
LEVEL = 2


@dataclass(frozen=True)
class Columns:
    """The columns that fit a width: which figures show, and the name's width on a top-level leaf row."""

    name: int
    shown: tuple[str, ...]

    @classmethod
    def fit(cls, width: int) -> Columns:
        shown = list(WIDTHS)

        def name_width() -> int:
            return width - LEAD - sum(WIDTHS[column] + 1 for column in shown)

        while name_width() < MIN_NAME + LEVEL + TOGGLE and shown:
            shown.remove(next(column for column in DROP_ORDER if column in shown))
        return cls(max(1, name_width()), tuple(shown))


class StepTree(Tree[str]):
    """Rows are relabelled one at a time when their text changes; the tree is never rebuilt."""

    DEFAULT_CSS = """
    StepTree { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("steps", id=id)
        self.show_root = False
        self.guide_depth = LEVEL
        self.nodes_by_step: dict[str, TreeNode[str]] = {}
        self.heading = Label(id="steps-heading", markup=False)
        self.columns = Columns.fit(40)
        self._labels: dict[str, str] = {}
        self._status_styles: dict[str, str] = {}
        self._state: RunState | None = None
        self._selected: str | None = None

    def sync(self, state: RunState, step_ids: Iterable[str], now: float, selected: str | None) -> None:
        """Add rows for new steps and relabel `step_ids`; a row repaints only if its text changed."""
        self._state, self._selected = state, selected
        self._status_styles = _status_styles(self.app.theme_variables)
        for step_id in state.order:
            self._ensure(state, step_id, self.root, now)
        for step_id in step_ids:
            if step_id in self.nodes_by_step:
                self._relabel(state, step_id, now, selected)

    def relabel(self, state: RunState, step_id: str | None, now: float, selected: str | None) -> None:
        self._selected = selected
        if step_id is not None and step_id in self.nodes_by_step:
            self._relabel(state, step_id, now, selected)

    def select_step(self, step_id: str) -> None:
        node = self.nodes_by_step.get(step_id)
        if node is not None and self.cursor_node is not node:
            if node.parent is not None:
                node.parent.expand()
            self.move_cursor(node, animate=False)

    def on_resize(self, event: events.Resize) -> None:
        columns = Columns.fit(self.scrollable_content_region.width)
        if columns == self.columns:
            return
        self.columns = columns
        self.heading.update(_heading(columns))
        if self._state is not None:
            now = self._state.clock()
            for step_id in self.nodes_by_step:
                self._relabel(self._state, step_id, now, self._selected)

    def _ensure(self, state: RunState, step_id: str, parent: TreeNode[str], now: float) -> None:
        node = self.nodes_by_step.get(step_id)
        step = state.steps[step_id]
        if node is None:
            label = self._label(state, step, now, False, parent)
            node = parent.add(label, data=step_id, expand=True, allow_expand=bool(step.children))
            self.nodes_by_step[step_id] = node
            self._labels[step_id] = label.plain
        if step.children and not node.allow_expand:
            node.allow_expand = True
            self._relabel(state, step_id, now, self._selected)
        for child in step.children:
            self._ensure(state, child, node, now)

    def _relabel(self, state: RunState, step_id: str, now: float, selected: str | None) -> None:
        node = self.nodes_by_step[step_id]
        label = self._label(state, state.steps[step_id], now, step_id == selected, node.parent)
        if self._labels.get(step_id) != label.plain:
            self._labels[step_id] = label.plain
            node.set_label(label)

    def _label(self, state: RunState, step: StepState, now: float, selected: bool,
               parent: TreeNode[str] | None) -> Text:
        depth = 0
        while parent is not None and parent is not self.root:
            depth, parent = depth + 1, parent.parent
        indent = LEVEL * depth + (TOGGLE if step.children else 0)
        return _label(state, step, now, selected, self.columns, indent, self._status_styles)


def _heading(columns: Columns) -> str:
    cells = [" " * LEAD + "step".ljust(columns.name)]
    cells += [HEADINGS[c].rjust(WIDTHS[c]) if c != "state" else HEADINGS[c].ljust(WIDTHS[c])
              for c in columns.shown]
    return " ".join(cells)


def _status_styles(theme: dict[str, str]) -> dict[str, str]:
    """Icon colours from the theme (the icons differ in shape too, for terminals without colour)."""
    return {
        "running": f"bold {theme.get('accent', 'cyan')}",
        "succeeded": theme.get("success", "green"),
        "failed": f"bold {theme.get('error', 'red')}",
        "interrupted": f"bold {theme.get('warning', 'yellow')}",
    }


def truncate(text: str, width: int) -> str:
    """`text` in exactly `width` cells: padded, or cut with an ellipsis."""
    if cell_len(text) <= width:
        return text + " " * (width - cell_len(text))
    cut = text
    while cut and cell_len(cut) > width - 1:
        cut = cut[:-1]
    return cut + "…" + " " * (width - 1 - cell_len(cut))


def _label(state: RunState, step: StepState, now: float, selected: bool, columns: Columns, indent: int,
           styles: dict[str, str]) -> Text:
    tokens_in, tokens_out, cost = state.figures(step)
    done = sum(1 for child in step.children if state.steps[child].finished)
    word = f"{done}/{len(step.children)} done" if step.children and not step.finished else step.state_word
    started = step.started_at is not None
    figures = {
        "state": word,
        "time": seconds(step.duration_s(now)) if started else "",
        "tokens": tokens(tokens_in + tokens_out) if started else "",
        "cost": money(cost) if started else "",
    }
    text = Text.assemble(
        (SELECTED_MARK if selected else " ", "bold"),
        (f"{step.icon} ", styles.get(step.status, "")),
        (truncate(step.name, max(1, columns.name - indent)), "bold" if selected else ""),
    )
    for column in columns.shown:
        style = "" if column == "state" and step.status != "queued" else "dim"
        width = WIDTHS[column]
        cell = truncate(figures[column], width) if column == "state" else figures[column].rjust(width)
        text.append(" ")
        text.append(cell[-width:], style)
    return text
