"""The selected step's details beneath the step tree: type, model, state, figures, retries, error."""

from __future__ import annotations

from textual.widgets import Static

from tui.format import money, seconds, tokens
from tui.run_state import RunState, StepState


class StepDetails(Static):
    """Fixed height: a new text never moves anything else on the screen."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, markup=False)

    def show(self, state: RunState, step: StepState | None, now: float) -> None:
        text = details_text(state, step, now) if step else "select a step to see its details"
        if str(self.content) != text:
            self.update(text, layout=False)


def details_text(state: RunState, step: StepState, now: float) -> str:
    tokens_in, tokens_out, cost = state.figures(step)
    lines = [
        step.step_id,
        " · ".join(part for part in (step.step_type, step.model) if part) or "not started",
        f"{step.icon} {state.activity(step, now)}",
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
    elif step.retry_text and not step.finished:
        lines.append(f"last retry: {step.retry_text}")
    return "\n".join(lines)
