"""The `claude_session` step: a conversation stored under the workspace and continued by name."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.retry import AttemptFailed
from engine.sessions import SessionError, complete_prefix, load_session, save_session, trim_turns

if TYPE_CHECKING:
    from engine.claude import ModelReply
    from engine.runner import Conversation, Runner, StepResult
    from engine.templating import Scope


async def run_session_step(runner: Runner, step: Any, scope: Scope) -> StepResult:
    config = step.session_config
    name = config.session_name

    async def converse(conversation: Conversation) -> ModelReply:
        try:
            stored = load_session(runner.workspace, name)
        except SessionError as exc:
            raise AttemptFailed("session", str(exc)) from exc
        history: list[dict[str, Any]] = []
        if stored is not None and (config.continue_on_restart or stored.get("run_id") == runner.run_id):
            history = stored["messages"]
        usage = dict(stored.get("usage", {})) if stored else {}
        conversation.messages[:0] = trim_turns(history, config.max_turns_kept)
        conversation.keep_text = True
        meter = conversation.meter
        try:
            return await conversation.run()
        finally:
            if config.persist:
                usage["input_tokens"] = usage.get("input_tokens", 0) + meter.input_tokens
                usage["output_tokens"] = usage.get("output_tokens", 0) + meter.output_tokens
                kept = trim_turns(complete_prefix(conversation.messages), config.max_turns_kept)
                save_session(runner.workspace, name, kept, runner.run_id, usage)

    return await runner.run_conversation(
        step.name, step.type, step.claude_options, step.prompt, scope, turn_loop=converse
    )
