"""The dashboard's header: workflow, run status, elapsed, tokens, live cost, budget, LIVE/SIMULATED badge."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Label

from tui.format import money, seconds, tokens
from tui.run_state import RunState

# The budget gauge turns to the warning colour at this share of the budget (the app notifies too).
BUDGET_WARNING = 0.8


class RunHeader(Horizontal):
    """One row; each part repaints only when its text changes."""

    DEFAULT_CSS = """
    RunHeader { height: 1; dock: top; }
    RunHeader Label { height: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.title_label = Label(id="run-title")
        self.figures_label = Label(id="run-figures")
        self.budget_label = Label(id="run-budget")
        self.badge_label = Label(id="run-badge")

    def compose(self) -> ComposeResult:
        yield self.title_label
        yield self.figures_label
        yield self.budget_label
        yield self.badge_label

    def show(self, state: RunState) -> None:
        title = f" {state.workflow or 'pipeline'} · {_status_words(state)}"
        tokens_in, tokens_out, cost = state.totals()
        traffic = f"{tokens(tokens_in)} in / {tokens(tokens_out)} out"
        figures = [seconds(state.elapsed_s()), traffic, money(cost)]
        budget = ""
        share = cost / state.budget_usd if state.budget_usd else 0.0
        if state.budget_usd:
            budget = f"· {100 * share:.0f}% of {money(state.budget_usd)} budget "
        self.budget_label.set_class(share >= BUDGET_WARNING, "-warning")
        badge = {None: "", True: " SIMULATED ", False: " LIVE "}[state.simulated]
        _set(self.title_label, title)
        # The figures fill the space the others leave: their text changes every tick, their size never.
        _set(self.figures_label, " · ".join(figures) + " ", layout=False)
        _set(self.budget_label, budget)
        _set(self.badge_label, badge)
        self.set_class(state.simulated is True, "-simulated")
        self.set_class(state.simulated is False, "-live")
        self.set_class(state.status in ("failed", "interrupted"), "-stopped")


def _set(label: Label, text: str, layout: bool = True) -> None:
    if str(label.content) != text:
        label.update(text, layout=layout)


def _status_words(state: RunState) -> str:
    if state.status in ("failed", "interrupted") and state.reason:
        return f"{state.status}: {state.reason}"
    return state.status
