"""The `claude_extract` step: the answer becomes the step's `data`; an invalid answer is re-asked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from engine.extraction import instructions, parse_json_answer, post_process, schema_problem
from engine.retry import AttemptFailed

if TYPE_CHECKING:
    from engine.claude import ModelReply
    from engine.runner import Conversation, Runner, StepResult
    from engine.templating import Scope


async def run_extract_step(runner: Runner, step: Any, scope: Scope) -> StepResult:
    config = step.extraction_config

    async def converse(conversation: Conversation) -> ModelReply:
        conversation.keep_text = True
        conversation.system_suffix = instructions(config.format, config.json_schema)
        for attempt in range(1, config.max_attempts + 1):
            reply = await conversation.run()
            answer = conversation.answer_text(reply)
            if config.format != "json":
                conversation.data = {"text": answer, **post_process(answer, config.post_processing)}
                conversation.result_text = answer
                return reply
            try:
                value = parse_json_answer(answer)
                problem = schema_problem(value, config.json_schema)
            except ValueError as exc:
                problem = str(exc)
            if problem is None:
                conversation.data = value
                conversation.result_text = answer
                return reply
            if attempt == config.max_attempts:
                raise AttemptFailed(
                    "invalid_output", f"no valid answer after {attempt} attempts; the last one: {problem}"
                )
            conversation.messages.append(
                {
                    "role": "user",
                    "content": f"That answer is not valid: {problem}. Answer again with only the fixed JSON.",
                }
            )
        raise AssertionError("unreachable: max_attempts >= 1")

    return await runner.run_conversation(
        step.name, step.type, step.claude_options, step.prompt, scope, turn_loop=converse
    )
