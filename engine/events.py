"""The events the engine emits: the only thing that crosses from the engine to the outside.

Frozen dataclasses with `slots` so the per-token ones (`TextDelta`, `ThinkingDelta`) stay cheap.
Every subscriber (handlers, run record, dashboard) sees the same events in the same order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

StepStatus = Literal["succeeded", "failed", "interrupted", "skipped"]
RunStatus = Literal["succeeded", "failed", "interrupted"]


@dataclass(frozen=True, slots=True)
class RunStarted:
    run_id: str
    workflow: str
    provider: str
    simulated: bool
    run_dir: str
    steps: tuple[str, ...]
    budget_usd: float | None = None
    kind: str = field(default="run_started", init=False)


@dataclass(frozen=True, slots=True)
class StepStarted:
    step_id: str
    step_type: str
    model: str
    parent_id: str | None = None
    tasks: tuple[str, ...] = ()  # a parallel or batch step names its tasks' step ids up front (queued)
    # Its tasks are recorded together (results/<step>.items.jsonl), not one run.json entry and one
    # results file each: an `api: batches` step, up to 100,000 items.
    itemized: bool = False
    kind: str = field(default="step_started", init=False)


@dataclass(frozen=True, slots=True)
class StepPhase:
    """What a step is doing right now: connecting, thinking, streaming, tool, backing_off."""

    step_id: str
    phase: str
    detail: str = ""
    kind: str = field(default="step_phase", init=False)


@dataclass(frozen=True, slots=True)
class TurnStarted:
    """A model turn begins; a later `Retrying` drops only the text streamed since this mark."""

    step_id: str
    turn: int
    kind: str = field(default="turn_started", init=False)


@dataclass(frozen=True, slots=True)
class TextDelta:
    step_id: str
    text: str
    kind: str = field(default="text", init=False)


@dataclass(frozen=True, slots=True)
class ThinkingDelta:
    step_id: str
    text: str
    kind: str = field(default="thinking", init=False)


@dataclass(frozen=True, slots=True)
class ToolCall:
    step_id: str
    tool_use_id: str
    name: str
    input: dict[str, Any]
    kind: str = field(default="tool_call", init=False)


@dataclass(frozen=True, slots=True)
class ToolResult:
    step_id: str
    tool_use_id: str
    name: str
    output: str
    is_error: bool
    refused: bool = False  # the sandbox refused it (an escape attempt, or a tool not allowed)
    kind: str = field(default="tool_result", init=False)


@dataclass(frozen=True, slots=True)
class Usage:
    """Token usage reported by the API for one model call (cumulative within that call)."""

    step_id: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_creation_input_tokens: int = 0
    cache_read_input_tokens: int = 0
    cost_usd: float = 0.0
    kind: str = field(default="usage", init=False)


@dataclass(frozen=True, slots=True)
class Retrying:
    """An attempt failed and another follows: subscribers drop the text since the last TurnStarted."""

    step_id: str
    attempt: int
    max_attempts: int
    delay_s: float
    reason: str
    kind: str = field(default="retrying", init=False)


@dataclass(frozen=True, slots=True)
class Interrupted:
    step_id: str
    reason: str
    kind: str = field(default="interrupted", init=False)


@dataclass(frozen=True, slots=True)
class StepMetrics:
    ttft_s: float | None = None
    duration_s: float = 0.0
    output_tokens_per_s: float | None = None
    chunks: int = 0
    bytes: int = 0
    retries: int = 0
    tool_calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0


@dataclass(frozen=True, slots=True)
class StepFinished:
    step_id: str
    status: StepStatus
    reason: str = ""
    stop_reason: str | None = None
    error: str | None = None
    metrics: StepMetrics = field(default_factory=StepMetrics)
    kind: str = field(default="step_finished", init=False)


@dataclass(frozen=True, slots=True)
class StepSaved:
    """A step's (or task's) result is saved in the run folder, after its `StepFinished`.

    Paths are relative to the run folder. `data` is inline when small, else in `data_file`.
    `fingerprint` hashes the step's inputs (see `engine.fingerprint`); `reused_from` names the run
    whose result a resumed run reused instead of running the step again.
    """

    step_id: str
    text_file: str | None = None
    data: Any = None
    data_file: str | None = None
    fingerprint: str | None = None
    reused_from: str | None = None
    kind: str = field(default="step_saved", init=False)


@dataclass(frozen=True, slots=True)
class BatchProgress:
    """A Message Batch of a step (`api: batches`), as the last poll saw it."""

    step_id: str
    batch_id: str
    status: str  # in_progress, canceling, ended
    processing: int = 0
    succeeded: int = 0
    errored: int = 0
    canceled: int = 0
    expired: int = 0
    kind: str = field(default="batch_progress", init=False)


@dataclass(frozen=True, slots=True)
class RunFinished:
    run_id: str
    status: RunStatus
    reason: str = ""
    cost_usd: float = 0.0
    duration_s: float = 0.0
    kind: str = field(default="run_finished", init=False)


Event = (
    RunStarted
    | StepStarted
    | StepPhase
    | TurnStarted
    | TextDelta
    | ThinkingDelta
    | ToolCall
    | ToolResult
    | Usage
    | Retrying
    | Interrupted
    | StepFinished
    | StepSaved
    | BatchProgress
    | RunFinished
)


def event_to_dict(event: Event) -> dict[str, Any]:
    """The event as a plain dict (for JSON), its metrics too: a shallow copy, several times cheaper than
    `dataclasses.asdict` (which deep-copies every value), as the run record turns every event into one."""
    data = {name: getattr(event, name) for name in event.__slots__}  # type: ignore[union-attr]
    metrics = data.get("metrics")
    if type(metrics) is StepMetrics:
        data["metrics"] = metrics_to_dict(metrics)
    return data


def metrics_to_dict(metrics: StepMetrics) -> dict[str, Any]:
    return {name: getattr(metrics, name) for name in StepMetrics.__slots__}  # type: ignore[attr-defined]
