"""The live pane: one step's stream drawn with the Line API from a `Transcript` held outside the widget.

Its size never depends on the text (it scrolls itself, so new rows never relayout the screen), it
repaints only when the app's timer calls `sync` (never per token), and only the rows that changed.
Follow mode (the `follow` reactive) keeps the newest row in view; scrolling up pauses it and the pane
counts the rows waiting below; `end` resumes.
"""

from __future__ import annotations

from typing import ClassVar

from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding, BindingType
from textual.geometry import Region
from textual.message import Message
from textual.reactive import reactive
from textual.strip import Strip
from textual.widget import Widget

from tui.transcript import Transcript

SCROLLBAR_WIDTH = 1


class LivePane(Widget, can_focus=True):
    """A fixed-size view of a transcript, with its own scroll position and follow mode."""

    DEFAULT_CSS = """
    LivePane {
        height: 1fr;
        width: 1fr;
    }
    """

    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("up", "scroll_rows(-1)", "Up", show=False),
        Binding("down", "scroll_rows(1)", "Down", show=False),
        Binding("pageup", "scroll_pages(-1)", "Page up", show=False),
        Binding("pagedown", "scroll_pages(1)", "Page down", show=False),
        Binding("home", "scroll_home", "Top", show=False),
    ]

    COMPONENT_CLASSES: ClassVar[set[str]] = {
        "live-pane--text",
        "live-pane--thinking",
        "live-pane--tool-call",
        "live-pane--tool-result",
        "live-pane--tool-error",
        "live-pane--notice",
        "live-pane--error",
        "live-pane--folded",
        "live-pane--scrollbar",
        "live-pane--scrollbar-thumb",
    }

    class FollowChanged(Message):
        """Follow mode was paused or resumed, or the count of rows waiting below changed."""

        def __init__(self, pane: LivePane) -> None:
            super().__init__()
            self.pane = pane

    # True while the newest row is kept in view; scrolling up pauses it, reaching the end resumes it.
    follow: reactive[bool] = reactive(True, init=False)  # repaints: the scrollbar shows while paused

    def __init__(self, transcript: Transcript, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.transcript = transcript
        self.top = 0
        # Rows drawn at the last repaint: when the text shrinks (a retry), the rows below are cleared too.
        self._rows_drawn = 0
        self._version = -1
        self._styles: dict[str, Style] = {}
        # The size as of the last resize: `Widget.size` is computed on every read, render_line runs per row.
        self._width = 0
        self._height = 0
        self._reported_below = 0
        # Rendered rows by row number: a row scrolls up many times but is built once.
        self._strips: dict[int, Strip] = {}

    @property
    def rows_below(self) -> int:
        """Rows of text beneath the view: what waits while follow mode is paused."""
        return max(0, self.transcript.row_count - self.top - self._height)

    # -- updates (called by the app's timer) --------------------------------------------------------

    def sync(self) -> None:
        """Catch up with the transcript: repaint only if it changed since the last call."""
        if self._width > SCROLLBAR_WIDTH:
            self.transcript.set_width(self._width - SCROLLBAR_WIDTH)
        if self.transcript.version == self._version:
            return
        self._version = self.transcript.version
        top = self.top
        changed_from = self.transcript.take_changed_from()
        self._forget_strips(changed_from)
        if self.follow:
            self._scroll_to_end()
        else:
            self.top = min(self.top, self._max_top())
        rows = self.transcript.row_count
        if self.top == top and changed_from is not None and changed_from >= top and rows >= self._rows_drawn:
            # Text grew in place: repaint from the first changed row down, not the whole pane.
            last = min(self._height, rows - top)
            self.refresh(Region(0, changed_from - top, self._width, max(1, last - (changed_from - top))))
        else:
            self.refresh()
        self._rows_drawn = rows
        if not self.follow and self._reported_below != self.rows_below:
            self._reported_below = self.rows_below
            self.post_message(self.FollowChanged(self))

    def on_resize(self, event: events.Resize) -> None:
        self._width, self._height = self.size
        self._strips.clear()
        self._version = -1
        self.sync()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles.clear()
        self._strips.clear()

    def _forget_strips(self, changed_from: int | None) -> None:
        strips = self._strips
        if changed_from is None or not strips:
            return
        if changed_from == 0:
            strips.clear()
            return
        for row in [row for row in strips if row >= changed_from or row < self.top - self._height]:
            del strips[row]

    # -- scrolling ----------------------------------------------------------------------------------

    def _max_top(self) -> int:
        return max(0, self.transcript.row_count - self._height)

    def _scroll_to_end(self) -> None:
        """Keep the newest row in view, scrolling a third of the pane at a time (jump scroll).

        Scrolling one row per new row would change every row of every pane on every tick; jumping
        means most ticks repaint only the pane's last row.
        """
        rows, height = self.transcript.row_count, self._height
        jump = height // 3
        if rows <= height:
            self.top = 0
        elif not rows - height <= self.top <= rows - height + jump:
            self.top = rows - height + jump

    def scroll_rows(self, delta: int) -> None:
        """Scroll by `delta` rows; scrolling up pauses follow mode, reaching the end resumes it."""
        self.top = max(0, min(self.top + delta, self._max_top()))
        self.follow = self.top >= self._max_top()
        if self.follow:
            self._scroll_to_end()
        self.refresh()
        self.post_message(self.FollowChanged(self))

    def action_scroll_rows(self, delta: int) -> None:
        self.scroll_rows(delta)

    def action_scroll_pages(self, pages: int) -> None:
        self.scroll_rows(pages * max(1, self._height - 1))

    def action_scroll_home(self) -> None:
        self.scroll_rows(-self.transcript.row_count)

    def action_follow(self) -> None:
        self.scroll_rows(self.transcript.row_count)

    def action_toggle_thinking(self) -> None:
        self.transcript.toggle_thinking()
        self.sync()

    def _on_mouse_scroll_up(self, event: events.MouseScrollUp) -> None:
        event.stop()
        self.scroll_rows(-3)

    def _on_mouse_scroll_down(self, event: events.MouseScrollDown) -> None:
        event.stop()
        self.scroll_rows(3)

    # -- drawing ------------------------------------------------------------------------------------

    def _style(self, name: str) -> Style:
        # Styles are looked up once per theme or class change, not per row: `rich_style` walks the DOM.
        style = self._styles.get(name)
        if style is None:
            base = self._styles.get("") or self._styles.setdefault("", self.rich_style)
            style = base + self.get_component_rich_style(f"live-pane--{name}", partial=True) if name else base
            self._styles[name] = style
        return style

    def render_line(self, y: int) -> Strip:
        index = self.top + y
        if index >= self.transcript.row_count:
            return Strip.blank(self._width, self._style(""))
        line = self._strips.get(index)
        if line is None:
            text, kind = self.transcript.row(index)
            base = self._style("")
            line = Strip([Segment(text, self._style(kind.value))]).adjust_cell_length(self._width, base)
            self._strips[index] = line
        if self.follow or self.transcript.row_count <= self._height:
            return line  # at the end: no scrollbar, the blank last column stays
        return Strip.join([line.crop(0, self._width - SCROLLBAR_WIDTH), self._scrollbar_cell(y)])

    def _scrollbar_cell(self, y: int) -> Strip:
        rows, height = self.transcript.row_count, self._height
        if rows <= height or height <= 0:
            return Strip.blank(SCROLLBAR_WIDTH, self._style(""))
        thumb_size = max(1, height * height // rows)
        thumb_top = (height - thumb_size) * self.top // max(1, rows - height)
        on_thumb = thumb_top <= y < thumb_top + thumb_size
        name = "scrollbar-thumb" if on_thumb else "scrollbar"
        return Strip([Segment("┃" if on_thumb else " ", self._style(name))])

