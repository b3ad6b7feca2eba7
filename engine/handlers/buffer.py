"""The buffer handler: keeps the end of a step's stream in memory, at most `max_bytes` bytes of UTF-8.

It is for the Python API (`handle.buffers[step_id].text`, readable while the step streams and after
it ends); later steps of a workflow read a step's whole answer (`{{steps.NAME.text}}`,
`previous_response`), never its buffer.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from engine.events import Event, Retrying, TurnStarted
from engine.handlers.base import HandlerContext, HandlerEnvironment, StreamHandler
from engine.workflow.model import BufferHandlerOptions


def utf8_size(text: str) -> int:
    return len(text) if text.isascii() else len(text.encode("utf-8"))


def last_bytes(text: str, limit: int) -> str:
    """The longest end of `text` whose UTF-8 form fits in `limit` bytes (cut between characters)."""
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[len(data) - limit :].decode("utf-8", errors="ignore")  # a cut character is dropped whole


class BufferHandler(StreamHandler):
    name = "buffer"

    def __init__(self, context: HandlerContext, options: BufferHandlerOptions, env: HandlerEnvironment):
        super().__init__(context, options, env)
        self.max_bytes = options.max_bytes
        self._chunks: deque[str] = deque()
        self._size = 0  # bytes of UTF-8 held
        self.dropped_bytes = 0  # how much of the beginning was let go to stay within max_bytes
        self._turn_start = 0  # index of the current turn's first chunk (a retry drops from here)
        env.buffers[context.step_id] = self

    async def handle(self, chunks: Sequence[str]) -> None:
        for chunk in chunks:
            self._chunks.append(chunk)
            self._size += utf8_size(chunk)
        while self._size > self.max_bytes:
            first = self._chunks[0]
            size, excess = utf8_size(first), self._size - self.max_bytes
            if size <= excess:
                self._chunks.popleft()
                self._turn_start = max(0, self._turn_start - 1)
                removed = size
            else:
                kept = last_bytes(first, size - excess)
                self._chunks[0] = kept
                removed = size - utf8_size(kept)
            self._size -= removed
            self.dropped_bytes += removed

    async def handle_event(self, event: Event) -> None:
        if type(event) is TurnStarted:
            self._turn_start = len(self._chunks)

    async def restart(self, event: Retrying) -> None:
        while len(self._chunks) > self._turn_start:
            self._size -= utf8_size(self._chunks.pop())

    @property
    def text(self) -> str:
        return "".join(self._chunks)

    @property
    def truncated(self) -> bool:
        return self.dropped_bytes > 0
