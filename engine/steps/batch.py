"""The `claude_batch` step: listed tasks, or one prompt template over `items`, each streaming on its own
(`api: messages`) or all sent to the Message Batches API (`api: batches`, engine/steps/batch_api.py)."""

from __future__ import annotations

from collections.abc import Sequence

from engine.context import StepContext
from engine.results import StepResult
from engine.steps.batch_api import run_batches
from engine.steps.fanout import Task, run_tasks
from engine.workflow.model import ClaudeBatchStep, ClaudeOptions


def _with_task_timeout(options: ClaudeOptions, seconds: float | None) -> ClaudeOptions:
    if seconds is None:
        return options
    current = options.timeout_seconds
    return options.model_copy(update={"timeout_seconds": min(current, seconds) if current else seconds})


def batch_tasks(context: StepContext, step: ClaudeBatchStep) -> list[Task]:
    """The step's tasks: the listed ones, then one per item (`item-001`, ...)."""
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
        tasks.append(Task(f"item-{number:0{width}d}", options, step.prompt, context.scope, item=item))
    return tasks


async def run_batch_step(context: StepContext, step: ClaudeBatchStep) -> StepResult:
    config = step.batch_config
    tasks = batch_tasks(context, step)
    if config.api == "batches":
        return await run_batches(context, step, tasks, resume=context.resume_batches)
    return await run_tasks(
        context, tasks, max_parallel=config.max_parallel, consolidate=config.consolidate_results
    )


async def resume_batch_step(
    context: StepContext, step: ClaudeBatchStep, batch_ids: Sequence[str]
) -> StepResult:
    """An `api: batches` step of an earlier run picked up: its batches (the ids in that run's
    `run.json`, `steps.<step>.batches`) are read instead of submitted again."""
    return await run_batches(context, step, batch_tasks(context, step), resume=batch_ids)
