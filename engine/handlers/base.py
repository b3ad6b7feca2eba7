"""What a stream handler is, and the pump that feeds one with the buffering rules of SPEC section 5.

A handler receives text in batches of `stream_buffer_size` chunks; a partial batch is flushed after
`stream_flush_interval_ms`, before any non-text event (so order holds), and always at the end.
Each handler runs in its own task behind its own inbox, so a slow one stalls nothing else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.bus import EventBus, Inbox
from engine.events import Event, Retrying, StepFinished, TextDelta

if TYPE_CHECKING:
    from engine.handlers.buffer import BufferHandler
    from engine.handlers.console import ConsoleWriter

log = logging.getLogger(__name__)

PUMP_LATENCY_S = 0.05


@dataclass(frozen=True)
class HandlerContext:
    """What a handler knows about the step it serves."""

    run_id: str
    run_dir: Path
    workflow: str
    step_id: str
    step_type: str
    parallel: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "run_dir": str(self.run_dir),
            "workflow": self.workflow,
            "step_id": self.step_id,
            "step_type": self.step_type,
        }


@dataclass
class HandlerEnvironment:
    """What handlers of one run share: the console writer and the buffers by step id."""

    console: ConsoleWriter | None = None
    buffers: dict[str, BufferHandler] = field(default_factory=dict)
    # When false (the dashboard draws the text), console handlers are left out.
    console_enabled: bool = True
    # Where callback modules are looked for besides sys.path: the current folder and the workflow's,
    # as `pipeline validate` does.
    module_paths: tuple[Path, ...] = ()


class StreamHandler:
    """Base of the handlers. Override what you need; every method is awaited in the pump's task.

    Built with the step's context, its options (the handler's options model from the registry,
    with every default filled in) and what the run's handlers share.
    """

    name = "handler"

    def __init__(self, context: HandlerContext, options: Any, env: HandlerEnvironment) -> None:
        self.context = context
        self.options = options

    @classmethod
    def wanted(cls, env: HandlerEnvironment) -> bool:
        """False when this run has no use for the handler (console text under the dashboard)."""
        return True

    async def open(self) -> None:
        """Called once before the first event."""

    async def handle(self, chunks: Sequence[str]) -> None:
        """A batch of text chunks, in order."""

    async def handle_event(self, event: Event) -> None:
        """Any non-text event of the step (thinking, tool calls and results, usage, interruption)."""

    async def restart(self, event: Retrying) -> None:
        """A retried attempt follows: forget the text of the failed one."""

    async def flush(self) -> None:
        """End of a drain cycle: push what was handled to its destination."""

    async def close(self, finished: StepFinished | None) -> None:
        """The step ended (or the run was torn down, `finished` is None)."""


class HandlerPump:
    """Drives one handler for one step from the bus, applying the buffering rules.

    A handler that fails is detached and its failure kept in `failure` (and passed to `on_failure`):
    the step then fails with it, since a handler that cannot do its job must not end in a success.
    """

    def __init__(self, handler: StreamHandler, buffer_size: int, flush_interval_ms: float) -> None:
        self.handler = handler
        self.buffer_size = max(1, buffer_size)
        self.flush_interval = max(flush_interval_ms, 0.0) / 1000
        # Chunks gather for up to 50 ms (20 updates a second, still fluid to a reader) before the handler's
        # task wakes: one wake-up per few tokens instead of one per token, a large share of the engine's
        # CPU with many streams (50 streams at 100 tokens/s: 1.35x -> 1.17x the bare SDK's CPU per delta).
        self.inbox = Inbox(latency=min(PUMP_LATENCY_S, self.flush_interval))
        self._pending: list[str] = []
        self._pending_since = 0.0
        self._task: asyncio.Task[None] | None = None
        self._unsubscribe = None
        self.failure: str | None = None
        self.on_failure: Callable[[str], None] | None = None

    def start(self, bus: EventBus, step_id: str) -> None:
        self._unsubscribe = bus.subscribe(self.inbox, step_id)
        self._task = asyncio.create_task(self._run(), name=f"handler:{self.handler.name}:{step_id}")

    def _detach(self) -> None:
        if self._unsubscribe:
            self._unsubscribe()
            self._unsubscribe = None
        self.inbox.close()

    async def drain(self) -> None:
        """Stop listening, and deliver and flush everything received so far (the handler stays open)."""
        self._detach()
        if self._task:
            await asyncio.shield(self._task)

    async def close(self, finished: StepFinished | None) -> None:
        """The step ended: the handler sees `finished` and is closed. A failure here is only logged:
        the step's end has been published already."""
        handler = self.handler
        try:
            if finished is not None and self.failure is None:
                await handler.handle_event(finished)
                await handler.flush()
        except Exception as exc:
            self._fail(exc, "failed")
        try:
            await handler.close(finished)
        except Exception as exc:
            log.warning(
                "stream handler %s of step %s failed to close: %s",
                handler.name,
                handler.context.step_id,
                _describe(exc),
            )

    def _fail(self, exc: Exception, what: str) -> None:
        self.failure = f"stream handler {self.handler.name} {what}: {_describe(exc)}"
        log.warning("%s (step %s)", self.failure, self.handler.context.step_id)
        if self.on_failure is not None:
            self.on_failure(self.failure)

    async def _run(self) -> None:
        handler = self.handler
        try:
            await handler.open()
            loop = asyncio.get_running_loop()
            while True:
                timeout = None
                if self._pending:
                    timeout = max(0.0, self._pending_since + self.flush_interval - loop.time())
                await self.inbox.wait(timeout)
                for event in self.inbox.drain():
                    if type(event) is TextDelta:
                        if not self._pending:
                            self._pending_since = loop.time()
                        self._pending.append(event.text)
                        if len(self._pending) >= self.buffer_size:
                            await self._deliver_full_batches()
                        continue
                    await self._deliver_pending()
                    if type(event) is Retrying:
                        await handler.restart(event)
                    await handler.handle_event(event)
                if self._pending and loop.time() - self._pending_since >= self.flush_interval:
                    await self._deliver_pending()
                await handler.flush()
                if self.inbox.closed and self.inbox.empty:
                    break
            await self._deliver_pending()
            await handler.flush()
        except Exception as exc:
            # Detached at once, so nothing piles up in its inbox for the rest of the step.
            self._detach()
            self._fail(exc, "failed")

    async def _deliver_full_batches(self) -> None:
        size = self.buffer_size
        pending = self._pending
        start = 0
        while len(pending) - start >= size:
            await self.handler.handle(pending[start : start + size])
            start += size
        self._pending = pending[start:]
        if self._pending:
            self._pending_since = asyncio.get_running_loop().time()

    async def _deliver_pending(self) -> None:
        if self._pending:
            batch, self._pending = self._pending, []
            await self.handler.handle(batch)


def _describe(exc: Exception) -> str:
    """One line for a handler's failure: an OS error by what it means, not by its repr."""
    if isinstance(exc, OSError) and exc.strerror:
        where = f": {exc.filename}" if exc.filename else ""
        return f"{exc.strerror}{where}"
    return f"{type(exc).__name__}: {exc}"
