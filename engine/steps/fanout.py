"""Running many conversations of one step at once (parallel_claude, claude_batch).

Each task is an ordinary streamed conversation with its own step id (`step.task`), handlers and
retries, under a concurrency limit. The parent step's result gathers the tasks' results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass

from engine.context import StepContext
from engine.events import StepFinished, StepMetrics, StepStarted
from engine.limits import stream_capacity
from engine.results import StepResult
from engine.templating import Scope
from engine.workflow.model import ClaudeOptions, PromptPart

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Task:
    task_id: str  # the task's own name; its step id is "<step>.<task_id>"
    options: ClaudeOptions
    prompt: Sequence[PromptPart]
    scope: Scope
    output_to_file: str | None = None


def _sum_metrics(results: list[StepResult], duration_s: float) -> StepMetrics:
    ttfts = [r.metrics.ttft_s for r in results if r.metrics.ttft_s is not None]
    out = sum(r.metrics.output_tokens for r in results)
    return StepMetrics(
        ttft_s=min(ttfts) if ttfts else None,
        duration_s=duration_s,
        output_tokens_per_s=out / duration_s if duration_s > 0 and out else None,
        chunks=sum(r.metrics.chunks for r in results),
        bytes=sum(r.metrics.bytes for r in results),
        retries=sum(r.metrics.retries for r in results),
        tool_calls=sum(r.metrics.tool_calls for r in results),
        input_tokens=sum(r.metrics.input_tokens for r in results),
        output_tokens=out,
        cost_usd=sum(r.metrics.cost_usd for r in results),
    )


async def run_tasks(
    context: StepContext,
    tasks: list[Task],
    *,
    max_parallel: int | None,
    fail_fast: bool = False,
    consolidate: bool = True,
) -> StepResult:
    step = context.step
    parent = step.name
    loop = asyncio.get_running_loop()
    started = loop.time()
    ids = [f"{parent}.{task.task_id}" for task in tasks]
    context.publish(StepStarted(parent, step.type, "", None, tuple(ids)))
    wanted = max_parallel or len(tasks)
    capacity = stream_capacity()
    if wanted > capacity:
        log.warning(
            "step %s: %d tasks at once would exceed the open-file limit; running %d at a time "
            "(raise it with `ulimit -n`)",
            parent,
            min(wanted, len(tasks)),
            capacity,
        )
    slots = asyncio.Semaphore(min(wanted, capacity))
    results: dict[str, StepResult] = {}

    async def run_one(task: Task, step_id: str) -> None:
        async with slots:
            stop = context.stop_request(parent)
            if stop is not None:
                results[step_id] = StepResult(step_id, "skipped", stop.reason)
                context.publish(StepFinished(step_id, "skipped", stop.reason))
                return
            result = await context.converse(
                task.options,
                task.prompt,
                task_id=task.task_id,
                scope=task.scope,
                output_to_file=task.output_to_file,
            )
        results[step_id] = result
        context.record_task(result)
        if fail_fast and result.status == "failed":
            context.interrupt(parent, f"fail_fast: {step_id} failed")

    await asyncio.gather(*(run_one(task, step_id) for task, step_id in zip(tasks, ids, strict=True)))
    ordered = [results[step_id] for step_id in ids]
    return finish_parent(context, ordered, loop.time() - started, consolidate)


def finish_parent(
    context: StepContext, ordered: list[StepResult], duration_s: float, consolidate: bool
) -> StepResult:
    """The parent step's result from its tasks' results (in declared order), its end published."""
    step = context.step
    parent = step.name
    for result in ordered:  # tasks finish in any order; records list them as declared
        context.record_task(result)
    statuses = {r.status for r in ordered}
    status = "failed" if "failed" in statuses else "interrupted" if "interrupted" in statuses else "succeeded"
    troubled = [r for r in ordered if r.status in ("failed", "interrupted")]
    reason = "; ".join(f"{r.step_id} {r.status}: {r.error or r.reason}" for r in troubled)[:500]
    spool = context.new_spool()
    if consolidate:
        for result in ordered:
            if result.status != "skipped":
                spool.append(f"## {result.step_id.removeprefix(parent + '.')}\n\n{result.text.rstrip()}\n\n")
    data = {
        r.step_id.removeprefix(parent + "."): {"status": r.status, "reason": r.reason, "text": r.text}
        for r in ordered
    }
    metrics = _sum_metrics(ordered, duration_s)
    error = next((r.error for r in ordered if r.error), None)
    if step.output_to_file:
        problem = context.save_output(spool, step.output_to_file)
        if problem is not None and status != "failed":
            status, reason, error = "failed", "output", problem
    context.publish(StepFinished(parent, status, reason, None, error, metrics))  # type: ignore[arg-type]
    # Who stopped it: whoever stopped its tasks (the user's `x`, or a guard), for the run's exit code.
    stopped_by = next((r.stopped_by for r in ordered if r.status == "interrupted"), None)
    return StepResult(parent, status, reason, None, error, metrics, data, spool, stopped_by)
