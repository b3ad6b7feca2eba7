"""The registries of the format's extension points: step types and stream handlers, each named once.

An entry says everything the rest of the product needs to know: the model that validates it (and
makes its JSON Schema), where its implementation lives, and, for a step type, whether it fans out
into tasks the dashboard shows beneath it. Validation, the JSON Schema, the CLI, the runner and the
dashboard all read these; no other list of names exists.

Implementations are named as `"module:attribute"` and imported when first used: `pipeline validate`
reads this registry without importing the engine's SDK-backed half (about 1.5 s of imports).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel


def _resolve(reference: str) -> Any:
    module, _, attribute = reference.partition(":")
    return getattr(importlib.import_module(module), attribute)


@dataclass(frozen=True)
class StepType:
    """A step type: its model, its executor, and what the dashboard needs to know about it."""

    name: str
    model: type[BaseModel]
    executor: str  # "module:function", an async function(context, step) -> StepResult
    fans_out: bool = False  # runs tasks of its own (step.task ids) that the dashboard lists beneath it

    def load_executor(self) -> Any:
        return _resolve(self.executor)


@dataclass(frozen=True)
class HandlerType:
    """A stream handler: its name in `stream_handler`, its options model, and its class."""

    name: str
    options: type[BaseModel]
    factory: str  # "module:Class", built with (context, options, environment)

    def load_factory(self) -> Any:
        return _resolve(self.factory)


STEP_TYPES: dict[str, StepType] = {}
HANDLERS: dict[str, HandlerType] = {}


def register_step_type(step_type: StepType) -> StepType:
    if step_type.name in STEP_TYPES and STEP_TYPES[step_type.name] != step_type:
        raise ValueError(f"step type {step_type.name!r} is already registered")
    STEP_TYPES[step_type.name] = step_type
    return step_type


def register_handler(handler: HandlerType) -> HandlerType:
    if handler.name in HANDLERS and HANDLERS[handler.name] != handler:
        raise ValueError(f"stream handler {handler.name!r} is already registered")
    HANDLERS[handler.name] = handler
    return handler


def unregister_step_type(name: str) -> None:
    """For tests that register a toy step type."""
    STEP_TYPES.pop(name, None)
