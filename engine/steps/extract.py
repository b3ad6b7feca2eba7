"""The `claude_extract` step: the answer becomes the step's `data`; an invalid answer is re-asked."""

from __future__ import annotations

from engine.context import StepContext
from engine.conversation import Conversation, Outcome
from engine.extraction import instructions, parse_json_answer, post_process, schema_problem
from engine.results import StepResult
from engine.retry import AttemptFailed
from engine.workflow.model import ClaudeExtractStep


async def run_extract_step(context: StepContext, step: ClaudeExtractStep) -> StepResult:
    config = step.extraction_config

    async def converse(conversation: Conversation) -> Outcome:
        for attempt in range(1, config.max_attempts + 1):
            reply = await conversation.run()
            answer = conversation.answer_text(reply)
            if config.format != "json":
                data = {"text": answer, **post_process(answer, config.post_processing)}
                return Outcome(reply, data, answer)
            try:
                value = parse_json_answer(answer)
                problem = schema_problem(value, config.json_schema)
            except ValueError as exc:
                problem = str(exc)
            if problem is None:
                return Outcome(reply, value, answer)
            if attempt == config.max_attempts:
                raise AttemptFailed(
                    "invalid_output", f"no valid answer after {attempt} attempts; the last one: {problem}"
                )
            conversation.ask_again(
                f"That answer is not valid: {problem}. Answer again with only the fixed JSON."
            )
        raise AssertionError("unreachable: max_attempts >= 1")

    return await context.converse(
        turn_loop=converse, keep_text=True, system_suffix=instructions(config.format, config.json_schema)
    )
