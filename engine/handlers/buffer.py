"""The buffer handler: keeps a step's stream in memory, bounded by `max_bytes`, for later steps."""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from engine.events import Event, Retrying, TurnStarted
from engine.handlers.base import HandlerContext, HandlerEnvironment, StreamHandler
from engine.workflow.model import BufferHandlerOptions


class BufferHandler(StreamHandler):
    name = "buffer"

    def __init__(self, context: HandlerContext, options: BufferHandlerOptions, env: HandlerEnvironment):
        super().__init__(context, options, env)
        self.max_bytes = options.max_bytes
        self._chunks: deque[str] = deque()
        self._size = 0
        self.dropped_bytes = 0  # how much of the beginning was let go to stay under max_bytes
        self._turn_start = 0
        env.buffers[context.step_id] = self

    async def handle(self, chunks: Sequence[str]) -> None:
        self._chunks.extend(chunks)
        for chunk in chunks:
            self._size += len(chunk)
        while self._size > self.max_bytes and len(self._chunks) > 1:
            dropped = len(self._chunks.popleft())
            self._size -= dropped
            self.dropped_bytes += dropped
            self._turn_start = max(0, self._turn_start - 1)

    async def handle_event(self, event: Event) -> None:
        if type(event) is TurnStarted:
            self._turn_start = len(self._chunks)

    async def restart(self, event: Retrying) -> None:
        while len(self._chunks) > self._turn_start:
            self._size -= len(self._chunks.pop())

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    @property
    def truncated(self) -> bool:
        return self.dropped_bytes > 0
