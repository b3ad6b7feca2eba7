"""`pipeline run --dry-run`: what each step would send, and what it would cost through the Messages API
and as a Message Batch, without calling anything.

Input tokens are estimated as characters / 4 (the simulator's rule; no tokenizer is called). The cost
is a range: the input alone, up to every answer running to `max_tokens`. Prompts that quote an earlier
step's answer count only their own text (that answer does not exist yet).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from engine.conversation import request_body
from engine.pricing import cost_usd
from engine.templating import PromptError, Scope, assemble_prompt
from engine.workflow.model import (
    ClaudeBatchStep,
    ClaudeOptions,
    ParallelClaudeStep,
    PromptPart,
    StepBase,
    Workflow,
)
from engine.workflow.presets import resolve_model

CHARS_PER_TOKEN = 4  # the simulator's estimate too


@dataclass(frozen=True)
class StepEstimate:
    name: str
    step_type: str
    requests: int
    input_tokens: int
    messages_usd: tuple[float, float]  # (input only, every answer at max_tokens)
    batches_usd: tuple[float, float]
    api: str  # what the step uses: messages or batches

    @property
    def chosen_usd(self) -> tuple[float, float]:
        return self.batches_usd if self.api == "batches" else self.messages_usd


async def estimate_workflow(workflow: Workflow) -> list[StepEstimate]:
    scope = Scope({}, dict(workflow.vars), workspace=Path(workflow.workspace_dir))
    return [await _estimate_step(step, scope) for step in workflow.steps]


async def _estimate_step(step: StepBase, scope: Scope) -> StepEstimate:
    requests: list[tuple[ClaudeOptions, str]] = []
    api = "messages"
    if isinstance(step, ClaudeBatchStep):
        api = step.batch_config.api
        requests += [(task.claude_options, await _text(task.prompt, scope)) for task in step.tasks or ()]
        requests += [
            (step.claude_options, await _text(step.prompt, scope.with_item(item)))
            for item in step.items or ()
        ]
    elif isinstance(step, ParallelClaudeStep):
        requests += [(task.claude_options, await _text(task.prompt, scope)) for task in step.parallel_tasks]
    else:
        requests.append((step.claude_options, await _text(step.prompt, scope)))
    tokens, messages, batches = 0, [0.0, 0.0], [0.0, 0.0]
    overhead: dict[int, int] = {}  # the request's JSON besides the prompt, by options
    for options, text in requests:
        fixed = overhead.get(id(options))
        if fixed is None:
            body = request_body(options, [{"role": "user", "content": ""}])
            fixed = overhead[id(options)] = len(json.dumps(body, ensure_ascii=False, separators=(",", ":")))
        count = max(1, (fixed + len(text)) // CHARS_PER_TOKEN)
        tokens += count
        model = resolve_model(options.model)
        for prices, batch in ((messages, False), (batches, True)):
            prices[0] += cost_usd(model, count, batch=batch)
            prices[1] += cost_usd(model, count, options.max_tokens, batch=batch)
    return StepEstimate(
        step.name, step.type, len(requests), tokens, (messages[0], messages[1]), (batches[0], batches[1]), api
    )


async def _text(parts: tuple[PromptPart, ...], scope: Scope) -> str:
    try:
        return await assemble_prompt(parts, scope)
    except PromptError:
        kept = []
        for part in parts:
            try:
                kept.append(await assemble_prompt((part,), scope))
            except PromptError:
                continue  # an earlier step's answer: unknown before the run
        return "\n\n".join(kept)
