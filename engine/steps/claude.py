"""The `claude` step: one conversation, streamed."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from engine.runner import Runner, StepResult
    from engine.templating import Scope


async def run_claude_step(runner: Runner, step: Any, scope: Scope) -> StepResult:
    return await runner.run_conversation(step.name, step.type, step.claude_options, step.prompt, scope)
