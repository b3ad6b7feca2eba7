"""A step's pane (its live stream, or its Markdown answer once it ends) and the grid that lays panes out."""

from __future__ import annotations

import math

from textual import events
from textual.containers import Container, Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Markdown

from tui.widgets.live_pane import LivePane

MIN_PANE_WIDTH = 30
MIN_PANE_HEIGHT = 7


class StepPane(Vertical):
    """A bordered pane titled with the step and what it is doing; can be maximized."""

    ALLOW_MAXIMIZE = True

    class Focused(Message):
        """Something inside the pane got focus: its step becomes the selected one."""

        def __init__(self, pane: StepPane) -> None:
            super().__init__()
            self.pane = pane

    def __init__(self, step_id: str, live: LivePane) -> None:
        super().__init__(classes="step-pane")
        self.step_id = step_id
        self.live = live
        self.answer_view: VerticalScroll | None = None

    def compose(self):  # type: ignore[no-untyped-def]
        yield self.live

    @property
    def rendered(self) -> bool:
        """True while the answer is shown as Markdown rather than as the raw stream."""
        return self.answer_view is not None and self.answer_view.display

    def show_titles(self, title: str, subtitle: str) -> None:
        if self.border_title != title:
            self.border_title = title
        if self.border_subtitle != subtitle:
            self.border_subtitle = subtitle

    def show_answer(self, markdown: str) -> None:
        """Render the finished answer as Markdown, once; the raw stream stays one key away."""
        if self.answer_view is None:
            self.answer_view = VerticalScroll(Markdown(markdown), classes="answer")
            self.answer_view.can_focus = True
            self.mount(self.answer_view)
        self._show_rendered(True)

    def toggle_rendered(self) -> bool:
        """Switch between the Markdown answer and the raw stream; False when there is no answer to show."""
        if self.answer_view is None:
            return False
        self._show_rendered(not self.rendered)
        return True

    def focus_content(self) -> None:
        (self.answer_view if self.rendered and self.answer_view else self.live).focus()

    def _show_rendered(self, rendered: bool) -> None:
        had_focus = self.has_focus_within
        assert self.answer_view is not None
        self.answer_view.display = rendered
        self.live.display = not rendered
        if had_focus:
            self.focus_content()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.post_message(self.Focused(self))


class PaneGrid(Container):
    """Lays out the visible panes side by side, as many columns as fit, scrolling when they cannot fit."""

    DEFAULT_CSS = """
    PaneGrid { layout: grid; overflow-y: auto; }
    """

    def on_resize(self, event: events.Resize) -> None:
        self.fit_panes()

    def fit_panes(self) -> None:
        count = len(self.children)
        if count == 0:
            return
        width, height = self.size
        columns = max(1, min(count, width // MIN_PANE_WIDTH))
        rows = math.ceil(count / columns)
        columns = math.ceil(count / rows)  # balance: 5 panes on 3 columns become 3 + 2
        self.styles.grid_size_columns = columns
        self.styles.grid_size_rows = rows
        fits = height // rows >= MIN_PANE_HEIGHT
        self.styles.grid_rows = "1fr" if fits else str(MIN_PANE_HEIGHT)
