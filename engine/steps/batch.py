"""The `claude_batch` step: listed tasks, or one prompt template over `items`, each streaming on its own."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

from engine.steps.fanout import Task, run_tasks

if TYPE_CHECKING:
    from engine.runner import Runner, StepResult
    from engine.templating import Scope


def _with_task_timeout(options: Any, seconds: float | None) -> Any:
    if seconds is None:
        return options
    current = getattr(options, "timeout_seconds", None)
    return options.model_copy(update={"timeout_seconds": min(current, seconds) if current else seconds})


async def run_batch_step(runner: Runner, step: Any, scope: Scope) -> StepResult:
    config = step.batch_config
    tasks: list[Task] = []
    for task in step.tasks or ():
        tasks.append(
            Task(
                task.id,
                _with_task_timeout(task.claude_options, config.timeout_per_task_seconds),
                task.prompt,
                scope,
            )
        )
    options = _with_task_timeout(step.claude_options, config.timeout_per_task_seconds)
    width = len(str(len(step.items or ())))
    for number, item in enumerate(step.items or (), start=1):
        tasks.append(
            Task(f"item-{number:0{width}d}", options, step.prompt, dataclasses.replace(scope, item=item))
        )
    return await run_tasks(
        runner, step, tasks, max_parallel=config.max_parallel, consolidate=config.consolidate_results
    )
