"""The `parallel_claude` step: its tasks stream at once, each to its own handlers and pane."""

from __future__ import annotations

from engine.context import StepContext
from engine.results import StepResult
from engine.steps.fanout import Task, run_tasks
from engine.workflow.model import ParallelClaudeStep


async def run_parallel_step(context: StepContext, step: ParallelClaudeStep) -> StepResult:
    tasks = [
        Task(t.id, t.claude_options, t.prompt, context.scope, t.output_to_file) for t in step.parallel_tasks
    ]
    return await run_tasks(context, tasks, max_parallel=step.max_parallel, fail_fast=step.fail_fast)
