"""The stream handlers of SPEC section 5, and building a step's handlers by name from the registry."""

from __future__ import annotations

from typing import Any

from engine.handlers.base import HandlerContext, HandlerEnvironment, HandlerPump, StreamHandler
from engine.handlers.console import ConsoleWriter
from engine.workflow.registry import HANDLERS


def build_handler(
    name: str, context: HandlerContext, options: dict[str, Any], env: HandlerEnvironment
) -> StreamHandler | None:
    """The handler `name` for one step, or None when this run has no use for it."""
    registered = HANDLERS.get(name)
    if registered is None:
        raise ValueError(f"unknown stream handler {name!r} (expected one of {', '.join(HANDLERS)})")
    factory = registered.load_factory()
    if not factory.wanted(env):
        return None
    return factory(context, registered.options.model_validate(options), env)


__all__ = [
    "ConsoleWriter",
    "HandlerContext",
    "HandlerEnvironment",
    "HandlerPump",
    "StreamHandler",
    "build_handler",
]
