"""The `claude_session` step: a conversation stored under the workspace and continued by name."""

from __future__ import annotations

from typing import Any

from engine.context import StepContext
from engine.conversation import Conversation, Outcome
from engine.results import StepResult
from engine.retry import AttemptFailed
from engine.sessions import SessionError, complete_prefix, load_session, save_session, trim_turns
from engine.workflow.model import ClaudeSessionStep


async def run_session_step(context: StepContext, step: ClaudeSessionStep) -> StepResult:
    config = step.session_config
    name = config.session_name

    async def converse(conversation: Conversation) -> Outcome:
        try:
            stored = load_session(context.workspace, name)
        except SessionError as exc:
            raise AttemptFailed("session", str(exc)) from exc
        history: list[dict[str, Any]] = []
        if stored is not None and (config.continue_on_restart or context.is_this_run(stored.get("run_id"))):
            history = stored["messages"]
        usage = dict(stored.get("usage", {})) if stored else {}
        conversation.continue_from(trim_turns(history, config.max_turns_kept))
        if history and stored is not None:
            conversation.agent_session = stored.get("claude_code_session")
        meter = conversation.meter
        try:
            return Outcome(await conversation.run())
        finally:
            if config.persist:
                usage["input_tokens"] = usage.get("input_tokens", 0) + meter.input_tokens
                usage["output_tokens"] = usage.get("output_tokens", 0) + meter.output_tokens
                kept = trim_turns(complete_prefix(conversation.messages), config.max_turns_kept)
                save_session(
                    context.workspace, name, kept, context.run_id, usage, conversation.agent_session
                )

    return await context.converse(turn_loop=converse, keep_text=True)
