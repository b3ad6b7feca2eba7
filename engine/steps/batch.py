"""The `claude_batch` step: listed tasks, or one prompt template over `items`, each streaming on its own."""

from __future__ import annotations

import dataclasses

from engine.context import StepContext
from engine.results import StepResult
from engine.steps.fanout import Task, run_tasks
from engine.workflow.model import ClaudeBatchStep, ClaudeOptions


def _with_task_timeout(options: ClaudeOptions, seconds: float | None) -> ClaudeOptions:
    if seconds is None:
        return options
    current = options.timeout_seconds
    return options.model_copy(update={"timeout_seconds": min(current, seconds) if current else seconds})


async def run_batch_step(context: StepContext, step: ClaudeBatchStep) -> StepResult:
    config = step.batch_config
    tasks: list[Task] = []
    for task in step.tasks or ():
        tasks.append(
            Task(
                task.id,
                _with_task_timeout(task.claude_options, config.timeout_per_task_seconds),
                task.prompt,
                context.scope,
            )
        )
    options = _with_task_timeout(step.claude_options, config.timeout_per_task_seconds)
    width = len(str(len(step.items or ())))
    for number, item in enumerate(step.items or (), start=1):
        scope = dataclasses.replace(context.scope, item=item)
        tasks.append(Task(f"item-{number:0{width}d}", options, step.prompt, scope))
    return await run_tasks(
        context, tasks, max_parallel=config.max_parallel, consolidate=config.consolidate_results
    )
