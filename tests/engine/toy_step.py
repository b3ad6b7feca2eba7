"""A toy step type registered from the test suite: `toy_echo` asks the same prompt `repeat` times at
once, as tasks of its own, using nothing but the step context (what CONTRIBUTING.md describes)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from engine.context import StepContext
from engine.results import StepResult
from engine.steps.fanout import Task, run_tasks
from engine.workflow.model import StepBase
from engine.workflow.registry import StepType


class ToyEchoStep(StepBase):
    """Asks the same prompt several times at once."""

    type: Literal["toy_echo"]
    repeat: int = Field(2, ge=1, le=10, description="How many times the prompt is asked.")


async def run_toy_echo_step(context: StepContext, step: ToyEchoStep) -> StepResult:
    tasks = [
        Task(f"echo-{n}", step.claude_options, step.prompt, context.scope) for n in range(1, step.repeat + 1)
    ]
    return await run_tasks(context, tasks, max_parallel=None)


TOY_ECHO = StepType("toy_echo", ToyEchoStep, "tests.engine.toy_step:run_toy_echo_step", fans_out=True)
