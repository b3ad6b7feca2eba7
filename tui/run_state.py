"""The dashboard's model of a run, folded from engine events; widgets read it, they never see events.

`RunState.apply` takes one drained batch of events and returns which steps changed, so the app
redraws only those. No Textual here: it is plain state, cheap to test.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from engine.events import (
    BatchProgress,
    Event,
    Interrupted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepMetrics,
    StepPhase,
    StepSaved,
    StepStarted,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    TurnStarted,
    Usage,
)
from engine.inert import inert_text
from engine.pricing import price_for
from tui.format import failure_words, retry_sentence
from tui.transcript import Kind, Transcript

TOOL_RESULT_LINES = 6
TOOL_INPUT_CHARS = 160

# What a step is doing, as the step tree and pane titles say it. Icons differ in shape, not only colour.
ICONS = {
    "queued": "○",
    "starting": "◔",
    "connecting": "◔",
    "thinking": "◑",
    "streaming": "▶",
    "tool_input": "⚙",
    "tool": "⚙",
    "backing_off": "↻",
    "succeeded": "✔",
    "failed": "✘",
    "interrupted": "■",
    "skipped": "–",
}
FINISHED = ("succeeded", "failed", "interrupted", "skipped")


@dataclass
class StepState:
    """One step (or parallel task, or batch item) as the dashboard shows it."""

    step_id: str
    parent_id: str | None = None
    step_type: str = ""
    model: str = ""
    phase: str = "queued"
    phase_detail: str = ""
    status: str = "queued"  # queued, running, or one of FINISHED
    reason: str = ""
    error: str | None = None
    started_at: float | None = None
    # The how-manieth step to start in the run (clocks can tie; this never does).
    start_order: int = 0
    finished_at: float | None = None
    retries: int = 0
    retry: Retrying | None = None
    retry_at: float = 0.0
    retry_text: str = ""  # the last retry, as a sentence
    tool_calls: int = 0
    # Usage of finished model calls, plus the latest figures of the call in progress.
    input_done: int = 0
    output_done: int = 0
    cost_done: float = 0.0
    call: Usage | None = None
    deltas_in_call: int = 0
    metrics: StepMetrics | None = None
    transcript: Transcript = field(default_factory=Transcript)
    # A claude_batch step on the Message Batches API: its batches as last polled, and when one changed.
    batches: dict[str, BatchProgress] = field(default_factory=dict)
    batch_changed_at: float = 0.0
    tasks_done: int = 0  # children that have finished
    children: list[str] = field(default_factory=list)
    reused_from: str | None = None  # a resumed run took this step's result from that run

    @property
    def name(self) -> str:
        """The step's name; a task or item is named without its parent's (the tree shows that)."""
        return self.step_id.removeprefix(f"{self.parent_id}.") if self.parent_id else self.step_id

    @property
    def running(self) -> bool:
        return self.status == "running"

    @property
    def finished(self) -> bool:
        return self.status in FINISHED

    @property
    def input_tokens(self) -> int:
        if self.metrics is not None:
            return self.metrics.input_tokens
        return self.input_done + (self.call.input_tokens if self.call else 0)

    @property
    def output_tokens(self) -> int:
        if self.metrics is not None:
            return self.metrics.output_tokens
        # Between usage reports, each text delta is about one token: the count moves while streaming.
        return self.output_done + max(self.call.output_tokens if self.call else 0, self.deltas_in_call)

    @property
    def cost_usd(self) -> float:
        """Exact once the step ends; meanwhile usage reported so far plus an estimate for the output
        streamed since (one token per delta, at the model's output price), corrected by each usage."""
        if self.metrics is not None:
            return self.metrics.cost_usd
        reported = self.call.output_tokens if self.call else 0
        unreported = max(0, self.deltas_in_call - reported)
        estimate = unreported * price_for(self.model or "default").output / 1_000_000 if unreported else 0.0
        return self.cost_done + (self.call.cost_usd if self.call else 0.0) + estimate

    def duration_s(self, now: float) -> float:
        if self.metrics is not None:
            return self.metrics.duration_s
        if self.started_at is None:
            return 0.0
        return (self.finished_at or now) - self.started_at

    @property
    def icon(self) -> str:
        return ICONS.get(self.status if self.finished else self.phase, "▶")

    @property
    def state_word(self) -> str:
        """The step's state in one short word or two, for the tree's state column."""
        if self.finished:
            if self.status == "succeeded" and self.reused_from:
                return "reused"
            return {"succeeded": "done", "interrupted": "stopped"}.get(self.status, self.status)
        if self.status == "queued":
            return "queued"
        if self.phase == "backing_off":
            return "retrying"
        if self.phase in ("tool", "tool_input"):
            return "tool"
        if self.phase == "starting" and self.children:
            return "running"
        return self.phase

    def activity(self, now: float, done_of: str = "") -> str:
        """What the step is doing right now, in a few words; `done_of` is a parent's "N of M done"."""
        if self.status == "queued":
            return "queued"
        if self.status == "succeeded":
            if self.reused_from:
                return "reused"
            return f"done · {done_of}" if done_of else "done"
        if self.finished:
            return f"{self.status}: {self.reason}" if self.reason else self.status
        if self.phase == "backing_off" and self.retry is not None:
            left = max(0.0, self.retry_at + self.retry.delay_s - now)
            return f"attempt {self.retry.attempt} of {self.retry.max_attempts} in {left:.1f} s"
        if self.phase == "tool":
            return f"running tool {self.phase_detail}".strip()
        if self.phase == "tool_input":
            return f"writing a {self.phase_detail} call".replace("a  call", "a tool call")
        if self.batches:
            return self.batch_activity(now)
        if self.children:
            return done_of or "running tasks"
        return self.phase

    def batch_activity(self, now: float) -> str:
        """`batch in_progress · 3,200/10,000 done · 1 of 2 batches ended · 12 s, changed 4 s ago`."""
        statuses = {batch.status for batch in self.batches.values()}
        ended = sum(1 for batch in self.batches.values() if batch.status == "ended")
        status = next((s for s in ("canceling", "in_progress") if s in statuses), "ended")
        since = f"{self.duration_s(now):.0f} s, changed {now - self.batch_changed_at:.0f} s ago"
        return (
            f"batch {status} · {self.tasks_done:,}/{len(self.children):,} done · "
            f"{ended} of {len(self.batches)} batches ended · {since}"
        )


@dataclass
class RunState:
    """Everything the dashboard knows about the run, kept current from its events."""

    clock: Callable[[], float]
    pane_width: int = 80
    max_rows: int = 2000
    workflow: str = ""
    run_id: str = ""
    run_dir: str = ""
    provider: str = ""
    simulated: bool | None = None
    budget_usd: float | None = None
    status: str = "starting"
    reason: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    final_cost: float | None = None
    final_duration_s: float | None = None
    steps: dict[str, StepState] = field(default_factory=dict)
    order: list[str] = field(default_factory=list)
    retries: int = 0
    started: int = 0
    output_tokens_seen: int = 0
    # Steps whose status, phase or figures changed in the last batch (not only their text), and
    # whether the run's own status did.
    status_changed: set[str] = field(default_factory=set)
    run_state_changed: bool = False
    # Whether a step started or finished in the last batch (what moves panes around).
    lifecycle_changed: bool = False

    # -- reading ------------------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        return self.finished_at is not None

    def elapsed_s(self) -> float:
        if self.final_duration_s is not None:
            return self.final_duration_s
        if self.started_at is None:
            return 0.0
        return self.clock() - self.started_at

    def figures(self, step: StepState) -> tuple[int, int, float]:
        """Tokens in, tokens out and cost of a step; a parent's are its tasks' (its own would count twice)."""
        if not step.children:
            return step.input_tokens, step.output_tokens, step.cost_usd
        totals = [self.figures(self.steps[child]) for child in step.children]
        return (sum(t[0] for t in totals), sum(t[1] for t in totals), sum(t[2] for t in totals))

    def totals(self) -> tuple[int, int, float]:
        """The run's tokens in, tokens out and cost (exact once the run has finished)."""
        figures = [self.figures(self.steps[step_id]) for step_id in self.order]
        cost = self.final_cost if self.final_cost is not None else sum(f[2] for f in figures)
        return sum(f[0] for f in figures), sum(f[1] for f in figures), cost

    def done_of(self, step: StepState) -> str:
        """ "2 of 4 done" for a parallel or batch step; empty for any other."""
        if not step.children:
            return ""
        done = sum(1 for child in step.children if self.steps[child].finished)
        return f"{done} of {len(step.children)} done"

    def activity(self, step: StepState, now: float) -> str:
        return step.activity(now, self.done_of(step))

    def leaves(self) -> list[StepState]:
        """The steps that stream (tasks and items, not their parents), in tree order."""
        found: list[StepState] = []

        def visit(step_id: str) -> None:
            step = self.steps[step_id]
            if step.children:
                for child in step.children:
                    visit(child)
            else:
                found.append(step)

        for step_id in self.order:
            visit(step_id)
        return found

    def top_level(self, step_id: str) -> str:
        """The workflow step a task or item belongs to (a top-level step is its own)."""
        step = self.steps[step_id]
        while step.parent_id is not None and step.parent_id in self.steps:
            step = self.steps[step.parent_id]
        return step.step_id

    def streams_in_flight(self) -> int:
        return sum(1 for step in self.steps.values() if step.running and not step.children)

    # -- writing ------------------------------------------------------------------------------------

    def step(self, step_id: str, parent_id: str | None = None) -> StepState:
        step = self.steps.get(step_id)
        if step is None:
            step = StepState(step_id, parent_id, transcript=Transcript(self.pane_width, self.max_rows))
            self.steps[step_id] = step
            if parent_id is not None and parent_id in self.steps:
                self.steps[parent_id].children.append(step_id)
            else:
                self.order.append(step_id)
        return step

    def apply(self, events: Iterable[Event]) -> dict[str, None]:
        """Fold a batch of events in; returns the ids of the steps that changed, in the order they did."""
        changed: dict[str, None] = {}
        self.status_changed = set()
        self.run_state_changed = False
        self.lifecycle_changed = False
        now = self.clock()
        # Consecutive deltas of a step are joined and appended once: the per-token work here is a list append.
        pending: dict[str, list[str]] = {}
        for event in events:
            kind = type(event)
            if kind is TextDelta:
                parts = pending.get(event.step_id)
                if parts is None:
                    pending[event.step_id] = [event.text]
                else:
                    parts.append(event.text)
                continue
            step_id = getattr(event, "step_id", None)
            if step_id in pending:
                self._append_text(step_id, pending.pop(step_id))
                changed[step_id] = None
            if kind is ThinkingDelta:
                self.step(event.step_id).transcript.append(Kind.THINKING, event.text)
                changed[event.step_id] = None
            else:
                step_id = self._apply_one(event, now)
                if step_id is not None:
                    changed[step_id] = None
                    self.status_changed.add(step_id)
        for step_id, parts in pending.items():
            self._append_text(step_id, parts)
            changed[step_id] = None
        return changed

    def _append_text(self, step_id: str, parts: list[str]) -> None:
        step = self.steps.get(step_id) or self.step(step_id)
        step.transcript.append(Kind.TEXT, "".join(parts))
        step.deltas_in_call += len(parts)
        self.output_tokens_seen += len(parts)

    def _apply_one(self, event: Event, now: float) -> str | None:
        if isinstance(event, RunStarted):
            self.workflow, self.run_id, self.run_dir = inert_text(event.workflow), event.run_id, event.run_dir
            self.provider, self.simulated, self.budget_usd = event.provider, event.simulated, event.budget_usd
            self.status, self.started_at = "running", now
            for name in event.steps:
                self.step(name)
            self.run_state_changed = True
            return None
        if isinstance(event, RunFinished):
            self.status, self.reason = event.status, inert_text(event.reason)
            self.finished_at, self.final_cost, self.final_duration_s = now, event.cost_usd, event.duration_s
            self.run_state_changed = True
            return None
        step = self.step(event.step_id, getattr(event, "parent_id", None))
        if isinstance(event, StepStarted | StepFinished):
            self.lifecycle_changed = True
        if isinstance(event, StepStarted):
            step.step_type, step.model = event.step_type, event.model
            step.status, step.phase, step.started_at = "running", "starting", now
            self.started += 1
            step.start_order = self.started
            if event.parent_id is not None and step.parent_id is None:
                self._adopt(step, event.parent_id)
            # A parallel or batch step names its tasks up front: they show as queued until a slot frees.
            for task_id in event.tasks:
                self.step(task_id, step.step_id)
        elif isinstance(event, StepPhase):
            step.phase, step.phase_detail = event.phase, event.detail
        elif isinstance(event, TurnStarted):
            self._end_call(step)
            step.transcript.mark()
        elif isinstance(event, ToolCall):
            step.tool_calls += 1
            step.phase, step.phase_detail = "tool", event.name
            step.transcript.add_block(Kind.TOOL_CALL, f"⚙ {event.name}({_short_input(event.input)})")
        elif isinstance(event, ToolResult):
            step.transcript.add_block(Kind.TOOL_ERROR if event.is_error else Kind.TOOL_RESULT,
                                      _tool_result_text(event))
        elif isinstance(event, Usage):
            step.call = event
        elif isinstance(event, Retrying):
            streamed = max(step.call.output_tokens if step.call else 0, step.deltas_in_call)
            step.retries += 1
            self.retries += 1
            step.retry, step.retry_at = event, now
            step.call, step.deltas_in_call = None, 0
            step.retry_text = retry_sentence(
                inert_text(event.reason), streamed, event.attempt, event.max_attempts, event.delay_s
            )
            # The failed attempt's text folds into one dimmed row; the new attempt starts below it.
            step.transcript.rewind(f"▸ attempt {event.attempt - 1}, dropped: {step.retry_text}")
        elif isinstance(event, Interrupted):
            step.reason = inert_text(event.reason)
        elif isinstance(event, BatchProgress):
            if step.batches.get(event.batch_id) != event:
                step.batch_changed_at = now
            step.batches[event.batch_id] = event
        elif isinstance(event, StepFinished):
            self._finish(step, event, now)
            parent = self.steps.get(step.parent_id) if step.parent_id else None
            if parent is not None:
                parent.tasks_done += 1
        elif isinstance(event, StepSaved):
            step.reused_from = event.reused_from
        return step.step_id

    def _adopt(self, step: StepState, parent_id: str) -> None:
        """A task announced before its parent was known moves beneath the parent."""
        if step.step_id in self.order:
            self.order.remove(step.step_id)
        step.parent_id = parent_id
        parent = self.step(parent_id)
        if step.step_id not in parent.children:
            parent.children.append(step.step_id)

    def _end_call(self, step: StepState) -> None:
        if step.call is not None:
            step.input_done += step.call.input_tokens
            step.output_done += max(step.call.output_tokens, step.deltas_in_call)
            step.cost_done += step.call.cost_usd
        elif step.deltas_in_call:
            step.output_done += step.deltas_in_call
        step.call, step.deltas_in_call = None, 0

    def _finish(self, step: StepState, event: StepFinished, now: float) -> None:
        self._end_call(step)
        step.status, step.reason = event.status, inert_text(event.reason) or step.reason
        step.error = inert_text(event.error) if event.error else None
        step.finished_at = now
        if event.status != "skipped":
            step.metrics = event.metrics
        step.phase = event.status
        if event.status == "interrupted":
            step.transcript.add_block(Kind.NOTICE, f"■ interrupted: {step.reason}")
        elif event.status == "failed":
            step.transcript.add_block(Kind.ERROR, f"✘ failed: {failure_words(event.error or step.reason)}")


def _short_input(data: dict[str, object]) -> str:
    text = ", ".join(f"{key}={json.dumps(value, ensure_ascii=False)}" for key, value in data.items())
    return text if len(text) <= TOOL_INPUT_CHARS else text[: TOOL_INPUT_CHARS - 1] + "…"


def _tool_result_text(event: ToolResult) -> str:
    lines = event.output.splitlines() or [""]
    shown = lines[:TOOL_RESULT_LINES]
    more = len(lines) - len(shown)
    label = "error" if event.is_error else "result"
    head = f"  ↳ {event.name} {label}: "
    body = "\n    ".join(shown)
    return head + body + (f"\n    … {more} more line{'s' if more != 1 else ''}" if more else "")
