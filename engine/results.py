"""What steps and runs end with, and the process exit codes: the one place they are defined.

Used by the runner, the step types, the command line, the dashboard and the tests' fakes alike.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from engine.events import StepMetrics
from engine.spool import HeldText, TextSpool

EXIT_SUCCEEDED = 0
EXIT_FAILED = 1  # a step failed
EXIT_USAGE = 2  # the workflow (or the command line) is invalid: nothing ran
EXIT_GUARD = 3  # a guard (stop_on, timeout, idle timeout, budget) stopped the run
EXIT_INTERRUPTED = 130  # the user stopped the run (a key, Ctrl+C, SIGTERM)

# Who stopped a step or a run: the user, or one of the workflow's own guards.
StoppedBy = Literal["user", "guard"]


@dataclass(slots=True)  # a batch step keeps one per item, 100,000 of them
class StepResult:
    step_id: str
    status: str
    reason: str = ""
    stop_reason: str | None = None
    error: str | None = None
    metrics: StepMetrics = field(default_factory=StepMetrics)
    data: Any = None
    spool: TextSpool | HeldText | None = None
    stopped_by: StoppedBy | None = None  # set when the status is `interrupted`
    reused_from: str | None = None  # the run whose recorded result stands in for this one (resume)
    # Its tasks are recorded together, in results/<step>.items.jsonl (an `api: batches` step).
    itemized: bool = False

    @property
    def text(self) -> str:
        return self.spool.text() if self.spool is not None else ""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    reason: str
    steps: dict[str, StepResult]
    tasks: dict[str, StepResult]
    cost_usd: float
    duration_s: float
    stopped_by: StoppedBy | None = None
    workflow_file: str | None = None  # for the resume command printed after a stopped or failed run

    @property
    def exit_code(self) -> int:
        if self.status == "succeeded":
            return EXIT_SUCCEEDED
        if self.status == "failed":
            return EXIT_FAILED
        return EXIT_GUARD if self.stopped_by == "guard" else EXIT_INTERRUPTED
