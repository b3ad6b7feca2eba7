"""The step tree: every step, parallel tasks and batch items beneath their step, and what each is doing."""

from __future__ import annotations

from collections.abc import Iterable

from rich.text import Text
from textual.widgets import Tree
from textual.widgets.tree import TreeNode

from tui.format import money, seconds, tokens
from tui.run_state import RunState, StepState

# Marks the selected row in its text, so the selection shows without colour (NO_COLOR, monochrome).
SELECTED_MARK = "›"


class StepTree(Tree[str]):
    """Rows are relabelled one at a time when their text changes; the tree is never rebuilt."""

    DEFAULT_CSS = """
    StepTree { width: 1fr; height: 1fr; }
    """

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("steps", id=id)
        self.show_root = False
        self.guide_depth = 2
        self.nodes_by_step: dict[str, TreeNode[str]] = {}
        self._labels: dict[str, str] = {}
        self._status_styles: dict[str, str] = {}

    def sync(self, state: RunState, step_ids: Iterable[str], now: float, selected: str | None) -> None:
        """Add rows for new steps and relabel `step_ids`; a row repaints only if its text changed."""
        self._status_styles = _status_styles(self.app.theme_variables)
        for step_id in state.order:
            self._ensure(state, step_id, self.root, now)
        for step_id in step_ids:
            if step_id in self.nodes_by_step:
                self._relabel(state, step_id, now, selected)

    def relabel(self, state: RunState, step_id: str | None, now: float, selected: str | None) -> None:
        if step_id is not None and step_id in self.nodes_by_step:
            self._relabel(state, step_id, now, selected)

    def select_step(self, step_id: str) -> None:
        node = self.nodes_by_step.get(step_id)
        if node is not None and self.cursor_node is not node:
            if node.parent is not None:
                node.parent.expand()
            self.move_cursor(node, animate=False)

    def _ensure(self, state: RunState, step_id: str, parent: TreeNode[str], now: float) -> None:
        node = self.nodes_by_step.get(step_id)
        step = state.steps[step_id]
        if node is None:
            label = _label(state, step, now, False, self._status_styles)
            node = parent.add(label, data=step_id, expand=True, allow_expand=bool(step.children))
            self.nodes_by_step[step_id] = node
            self._labels[step_id] = label.plain
        if step.children:
            node.allow_expand = True
            for child in step.children:
                self._ensure(state, child, node, now)

    def _relabel(self, state: RunState, step_id: str, now: float, selected: str | None) -> None:
        label = _label(state, state.steps[step_id], now, step_id == selected, self._status_styles)
        if self._labels.get(step_id) != label.plain:
            self._labels[step_id] = label.plain
            self.nodes_by_step[step_id].set_label(label)


def _status_styles(theme: dict[str, str]) -> dict[str, str]:
    """Icon colours from the theme (the icons differ in shape too, for terminals without colour)."""
    return {
        "running": f"bold {theme.get('accent', 'cyan')}",
        "succeeded": theme.get("success", "green"),
        "failed": f"bold {theme.get('error', 'red')}",
        "interrupted": f"bold {theme.get('warning', 'yellow')}",
    }


def _label(state: RunState, step: StepState, now: float, selected: bool, styles: dict[str, str]) -> Text:
    tokens_in, tokens_out, cost = state.figures(step)
    text = Text.assemble(
        (SELECTED_MARK if selected else " ", "bold"),
        (f"{step.icon} ", styles.get(step.status, "")),
        (step.name, "bold" if selected else ""),
        "  ",
        (step.activity(now), "dim" if step.status == "queued" else ""),
    )
    if step.started_at is not None:
        figures = f"  {seconds(step.duration_s(now))} · {tokens(tokens_in + tokens_out)} tok · {money(cost)}"
        if step.retries:
            figures += f" · ↻{step.retries}"
        text.append(figures, "dim")
    return text
