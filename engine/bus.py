"""The event bus: every subscriber (handlers, run record, dashboard) gets the engine's events through it.

Publishing never blocks and costs O(1) per subscriber: each subscriber owns an unbounded inbox that
its own task drains in batches, so a slow subscriber can never stall the stream or the others.
Overflow policy: past `coalesce_after` pending events, consecutive text deltas of a step are merged
into one, so a subscriber that falls behind costs memory in proportion to the text, never to the
number of tokens, and never loses any text.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import Callable

from engine.events import Event, TextDelta

log = logging.getLogger(__name__)


class _PendingText:
    """Text deltas merged while a subscriber was behind; turned back into one TextDelta when drained."""

    __slots__ = ("parts", "step_id")

    def __init__(self, step_id: str, first: str) -> None:
        self.step_id = step_id
        self.parts = [first]


class Inbox:
    """A subscriber's queue. `deliver` is called by the bus; `drain` by the subscriber's own task.

    `latency` > 0 lets events gather for that long before the subscriber is woken: one wake-up per
    batch instead of one per token, for subscribers that need not react within milliseconds.
    """

    def __init__(self, coalesce_after: int = 10_000, latency: float = 0.0) -> None:
        self._items: deque[Event | _PendingText] = deque()
        self._wake = asyncio.Event()
        self._coalesce_after = coalesce_after
        self._latency = latency
        self._timer: asyncio.TimerHandle | None = None
        self.closed = False

    def deliver(self, event: Event) -> None:
        items = self._items
        if len(items) >= self._coalesce_after and type(event) is TextDelta:
            last = items[-1]
            if type(last) is _PendingText and last.step_id == event.step_id:
                last.parts.append(event.text)
                return
            if type(last) is TextDelta and last.step_id == event.step_id:
                items[-1] = _PendingText(event.step_id, last.text)
                items[-1].parts.append(event.text)
                return
        items.append(event)
        if self._wake.is_set() or self._timer is not None:
            return
        if self._latency:
            self._timer = asyncio.get_running_loop().call_later(self._latency, self._ring)
        else:
            self._wake.set()

    def _ring(self) -> None:
        self._timer = None
        self._wake.set()

    def close(self) -> None:
        self.closed = True
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._wake.set()

    async def wait(self, timeout: float | None = None) -> None:
        """Wait until something is pending (or the inbox is closed), at most `timeout` seconds."""
        if not self._items and not self.closed:
            if timeout is None:
                await self._wake.wait()  # the common case, kept free of a timeout's set-up per wake-up
            else:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
        self._wake.clear()

    def drain(self) -> list[Event]:
        items = self._items
        batch: list[Event] = []
        while items:
            item = items.popleft()
            if type(item) is _PendingText:
                batch.append(TextDelta(item.step_id, "".join(item.parts)))
            else:
                batch.append(item)  # type: ignore[arg-type]
        return batch

    @property
    def empty(self) -> bool:
        return not self._items


class EventBus:
    """Fan-out of events to inboxes; step-scoped inboxes see only the events of their step."""

    def __init__(self) -> None:
        self._everything: list[Inbox] = []
        self._by_step: dict[str, list[Inbox]] = {}
        self._listeners: list[Callable[[Event], None]] = []

    def subscribe(self, inbox: Inbox, step_id: str | None = None) -> Callable[[], None]:
        if step_id is None:
            self._everything.append(inbox)
            return lambda: self._everything.remove(inbox)
        self._by_step.setdefault(step_id, []).append(inbox)
        return lambda: self._by_step[step_id].remove(inbox)

    def listen(self, callback: Callable[[Event], None]) -> None:
        """A synchronous listener called inline for every event; it must be O(1) and never raise."""
        self._listeners.append(callback)

    def publish(self, event: Event) -> None:
        for listener in self._listeners:
            listener(event)
        for inbox in self._everything:
            inbox.deliver(event)
        step_id = getattr(event, "step_id", None)
        if step_id is not None:
            scoped = self._by_step.get(step_id)
            if scoped:
                for inbox in scoped:
                    inbox.deliver(event)
