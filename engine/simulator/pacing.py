"""Wake-ups for paced streams: every stream due in the same millisecond shares one event-loop timer.

With hundreds of streams at ~100 tokens/s each, a timer per token per stream makes asyncio's timer
heap the main cost; grouping by millisecond keeps one timer per tick, whatever the stream count.
"""

from __future__ import annotations

import asyncio
import math

TICKS_PER_SECOND = 1000


class TickClock:
    """Sleeps until absolute loop times, rounded up to the next millisecond."""

    def __init__(self) -> None:
        self._sleepers: dict[int, list[asyncio.Future[None]]] = {}

    async def sleep_until(self, when: float) -> None:
        """Return at loop time `when` (or up to a millisecond later)."""
        loop = asyncio.get_running_loop()
        tick = math.ceil(when * TICKS_PER_SECOND)
        # Each sleeper waits on its own future: cancelling one stream must not wake or cancel the others.
        wake_up: asyncio.Future[None] = loop.create_future()
        sleepers = self._sleepers.get(tick)
        if sleepers is None:
            sleepers = self._sleepers[tick] = []
            loop.call_at(tick / TICKS_PER_SECOND, self._wake, tick)
        sleepers.append(wake_up)
        await wake_up

    def _wake(self, tick: int) -> None:
        for wake_up in self._sleepers.pop(tick):
            if not wake_up.done():
                wake_up.set_result(None)
