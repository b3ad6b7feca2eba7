"""One module per step type, each a small function on the runner's one streamed conversation."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from engine.steps.batch import run_batch_step
from engine.steps.claude import run_claude_step
from engine.steps.extract import run_extract_step
from engine.steps.parallel import run_parallel_step
from engine.steps.session import run_session_step

if TYPE_CHECKING:
    from engine.runner import Runner, StepResult
    from engine.templating import Scope

Executor = Callable[["Runner", Any, "Scope"], Awaitable["StepResult"]]

# claude_smart and claude_robust differ from claude only in options (presets, retry_config),
# which the loader has already merged into each step's claude_options.
EXECUTORS: dict[str, Executor] = {
    "claude": run_claude_step,
    "claude_smart": run_claude_step,
    "claude_robust": run_claude_step,
    "parallel_claude": run_parallel_step,
    "claude_batch": run_batch_step,
    "claude_session": run_session_step,
    "claude_extract": run_extract_step,
}


def executor_for(step_type: str) -> Executor:
    return EXECUTORS[step_type]
