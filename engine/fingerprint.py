"""A step's input fingerprint: whether a recorded result may stand in for running the step again.

It hashes what decides a step's answer: its definition as validated (options, guards, tasks, items),
every prompt it sends as assembled (so earlier results, vars and prompt files it reads count), and
the model. Two runs whose step has the same fingerprint asked the same thing of the same model.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Coroutine, Iterator
from typing import Any

from engine.templating import PromptError, Scope, assemble_prompt
from engine.workflow.model import StepBase


async def step_fingerprint(step: StepBase, scope: Scope) -> str | None:
    """The hash of the step's inputs, or None when its prompt cannot be assembled (it would fail)."""
    digest = hashlib.sha256()
    definition = step.model_dump(mode="json")
    digest.update(json.dumps(definition, sort_keys=True, default=str).encode())
    digest.update(b"\0model\0" + step.claude_options.model.encode())
    try:
        for prompt in _prompts(step, scope):
            digest.update(b"\0prompt\0" + (await prompt).encode())
    except PromptError:
        return None  # the step will fail the same way when it runs; nothing to reuse
    except Exception:
        return None  # a hash that cannot be taken only means no reuse: it must never stop the run
    return "sha256:" + digest.hexdigest()


def _prompts(step: StepBase, scope: Scope) -> Iterator[Coroutine[Any, Any, str]]:
    """Every user message the step sends: its own prompt (once per batch item) and its tasks'."""
    items: Any = getattr(step, "items", None)
    if items:
        for item in items:
            yield assemble_prompt(step.prompt, scope.with_item(item))
    elif step.prompt:
        yield assemble_prompt(step.prompt, scope)
    for task in getattr(step, "parallel_tasks", None) or getattr(step, "tasks", None) or ():
        yield assemble_prompt(task.prompt, scope)
