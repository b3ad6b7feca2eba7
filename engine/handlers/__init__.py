"""The four stream handlers of SPEC section 5 and the factory that builds a step's handlers by name."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from engine.handlers.base import HandlerPump, StepContext, StreamHandler
from engine.handlers.buffer import BufferHandler
from engine.handlers.callback import CallbackHandler
from engine.handlers.console import ConsoleHandler, ConsoleWriter
from engine.handlers.file import FileHandler

HANDLER_NAMES = ("console", "file", "buffer", "callback")


@dataclass
class HandlerEnvironment:
    """What handlers of one run share: the console writer and the registry of buffers."""

    console: ConsoleWriter | None = None
    buffers: dict[str, BufferHandler] = field(default_factory=dict)
    # When false (the dashboard draws the text), console handlers are left out.
    console_enabled: bool = True


def build_handler(
    name: str, context: StepContext, options: dict[str, Any], env: HandlerEnvironment
) -> StreamHandler | None:
    if name == "console":
        if not env.console_enabled:
            return None
        if env.console is None:
            env.console = ConsoleWriter(colour=options.get("color"))
        return ConsoleHandler(context, options, env.console)
    if name == "file":
        return FileHandler(context, options)
    if name == "buffer":
        return BufferHandler(context, options, env.buffers)
    if name == "callback":
        return CallbackHandler(context, options)
    raise ValueError(f"unknown stream handler {name!r} (expected one of {', '.join(HANDLER_NAMES)})")


__all__ = [
    "HANDLER_NAMES",
    "BufferHandler",
    "CallbackHandler",
    "ConsoleHandler",
    "ConsoleWriter",
    "FileHandler",
    "HandlerEnvironment",
    "HandlerPump",
    "StepContext",
    "StreamHandler",
    "build_handler",
]
