"""The callback handler: calls the user's `"package.module:function"` with each flushed batch.

Sync functions run in a worker thread so a slow one never blocks the event loop (and the stream).
When a retried attempt throws its text away, `on_reset` is called with a notice:
`{"event": "reset", "step_id", "attempt", "max_attempts", "reason", "discard_chars"}`; dropping the
last `discard_chars` characters received leaves exactly the text the step keeps.
"""

from __future__ import annotations

import asyncio
import importlib
import inspect
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from engine.events import Event, Retrying, StepFinished, TurnStarted, event_to_dict
from engine.handlers.base import HandlerContext, HandlerEnvironment, StreamHandler
from engine.workflow.model import CallbackHandlerOptions


def import_callable(spec: str, module_paths: Sequence[Path] = ()) -> Callable[..., Any]:
    """Resolve `"package.module:function"`, also from the current directory and `module_paths` (where a
    user keeps their callbacks beside the workflow); raises ValueError with a clear one-line message."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise ValueError(f"callback {spec!r} must look like 'package.module:function'")
    added = [p for p in dict.fromkeys([os.getcwd(), *map(str, module_paths)]) if p not in sys.path]
    sys.path.extend(added)
    try:
        target: Any = importlib.import_module(module_name)
    except (Exception, SystemExit) as exc:
        raise ValueError(f"{spec!r} cannot be imported: {type(exc).__name__}: {exc}") from exc
    finally:
        for path in added:
            sys.path.remove(path)
    for part in attr.split("."):
        target = getattr(target, part, None)
        if target is None:
            raise ValueError(f"{spec!r}: module {module_name!r} has no function {attr!r}")
    if not callable(target):
        raise ValueError(f"{spec!r}: {attr!r} is not a function")
    return target


async def _call(fn: Callable[..., Any], *args: Any) -> None:
    if inspect.iscoroutinefunction(fn):
        await fn(*args)
    else:
        result = await asyncio.to_thread(fn, *args)
        if inspect.isawaitable(result):
            await result


class CallbackHandler(StreamHandler):
    name = "callback"

    def __init__(
        self, context: HandlerContext, options: CallbackHandlerOptions, env: HandlerEnvironment
    ) -> None:
        super().__init__(context, options, env)
        if not options.callback:
            raise ValueError("the callback handler needs stream_handler_opts.callback: 'module:function'")
        self.callback = import_callable(options.callback, env.module_paths)
        self.on_complete = (
            import_callable(options.on_complete, env.module_paths) if options.on_complete else None
        )
        self.on_reset = import_callable(options.on_reset, env.module_paths) if options.on_reset else None
        self._turn_chars = 0  # characters delivered since the current turn began (what a retry drops)

    async def handle(self, chunks: Sequence[str]) -> None:
        self._turn_chars += sum(len(chunk) for chunk in chunks)
        await _call(self.callback, list(chunks), self.context.as_dict())

    async def handle_event(self, event: Event) -> None:
        if type(event) is TurnStarted:
            self._turn_chars = 0

    async def restart(self, event: Retrying) -> None:
        discarded, self._turn_chars = self._turn_chars, 0
        if self.on_reset is not None:
            notice = {
                "event": "reset",
                "step_id": event.step_id,
                "attempt": event.attempt,
                "max_attempts": event.max_attempts,
                "reason": event.reason,
                "discard_chars": discarded,
            }
            await _call(self.on_reset, notice, self.context.as_dict())

    async def close(self, finished: StepFinished | None) -> None:
        if self.on_complete is not None and finished is not None:
            await _call(self.on_complete, event_to_dict(finished), self.context.as_dict())
