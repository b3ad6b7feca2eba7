"""A step's pane: its live stream, or its answer as Markdown once the step ends (marked when the step
did not succeed)."""

from __future__ import annotations

from textual import events
from textual.containers import Vertical, VerticalScroll
from textual.message import Message
from textual.widgets import Markdown

from tui.widgets.live_pane import LivePane


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

    def show_answer(self, markdown: str, note: str = "") -> None:
        """Render the finished answer as Markdown, once; `note` (an interrupted or failed step's) heads it.
        The raw stream stays one key away."""
        if self.answer_view is None:
            text = f"> {note}\n\n{markdown}" if note else markdown
            self.answer_view = VerticalScroll(Markdown(text), classes="answer")
            self.answer_view.can_focus = True
            self.mount(self.answer_view)
        self._show_rendered(True)

    def toggle_rendered(self) -> bool:
        """Switch between the Markdown answer and the raw stream; False when there is no answer to show."""
        if self.answer_view is None:
            return False
        self._show_rendered(not self.rendered)
        return True

    def at_end(self) -> bool:
        """True when `end` would change nothing: the stream is followed, or the answer is scrolled down."""
        if self.rendered and self.answer_view is not None:
            return self.answer_view.scroll_y >= self.answer_view.max_scroll_y
        return self.live.follow

    def content(self) -> LivePane | VerticalScroll:
        """What takes focus in the pane: the Markdown answer while shown, else the live stream."""
        return self.answer_view if self.rendered and self.answer_view else self.live

    def _show_rendered(self, rendered: bool) -> None:
        had_focus = self.has_focus_within
        assert self.answer_view is not None
        self.answer_view.display = rendered
        self.live.display = not rendered
        if had_focus:
            self.content().focus()

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        self.post_message(self.Focused(self))
