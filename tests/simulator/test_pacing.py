"""The shared millisecond clock behind paced streams: one stream leaving never disturbs the others."""

from __future__ import annotations

import asyncio

from engine.simulator.pacing import TickClock


async def test_sleepers_of_one_tick_wake_together_and_a_cancelled_one_leaves_alone():
    clock = TickClock()
    loop = asyncio.get_running_loop()
    when = loop.time() + 0.05
    staying = asyncio.create_task(clock.sleep_until(when))
    leaving = asyncio.create_task(clock.sleep_until(when))
    await asyncio.sleep(0)
    leaving.cancel()
    await asyncio.wait_for(staying, timeout=2)
    assert loop.time() >= when
    assert leaving.cancelled()
