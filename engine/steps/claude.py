"""The `claude` step (also `claude_smart` and `claude_robust`): one conversation, streamed."""

from __future__ import annotations

from engine.context import StepContext
from engine.results import StepResult
from engine.workflow.model import StepBase


async def run_claude_step(context: StepContext, step: StepBase) -> StepResult:
    return await context.converse()
