"""The `parallel_claude` step: its tasks stream at once, each to its own handlers and pane."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.steps.fanout import Task, run_tasks

if TYPE_CHECKING:
    from engine.runner import Runner, StepResult
    from engine.templating import Scope


async def run_parallel_step(runner: Runner, step: Any, scope: Scope) -> StepResult:
    tasks = [Task(t.id, t.claude_options, t.prompt, scope, t.output_to_file) for t in step.parallel_tasks]
    return await run_tasks(runner, step, tasks, max_parallel=step.max_parallel, fail_fast=step.fail_fast)
