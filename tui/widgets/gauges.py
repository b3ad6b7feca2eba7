"""The gauges beside the footer's key hints: streams in flight / limit, retries so far, output tokens/s."""

from __future__ import annotations

from textual.widgets import Label


class Gauges(Label):
    """One line of figures, fixed in size: it repaints when they change, and never relayouts the screen."""

    DEFAULT_CSS = """
    Gauges { height: 1; padding: 0 1; }
    """

    def show(self, in_flight: int, limit: int | None, retries: int, tokens_per_s: float,
             stop_on_error: bool) -> None:
        streams = f"{in_flight}/{limit}" if limit else str(in_flight)
        text = f"streams {streams} · retries {retries} · {tokens_per_s:,.0f} tok/s"
        if stop_on_error:
            text += " · stop on error"
        if str(self.content) != text:
            self.update(text, layout=False)
