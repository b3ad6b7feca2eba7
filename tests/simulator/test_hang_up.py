"""A client that stops reading mid-stream closes its connection; the simulator notices and stops sending."""

from __future__ import annotations

import asyncio

import anthropic
import httpx2
import pytest

from engine.simulator import Simulator, SimulatorConfig
from tests.simulator.support import MODEL, PROMPT, sdk_client, user

PACE = {"x-sim-tokens-per-second": "200", "x-sim-answer-tokens": "2000"}


async def test_closing_the_stream_is_logged_as_a_hang_up_with_no_more_tokens():
    async with Simulator(SimulatorConfig()) as sim, sdk_client(sim) as client:
        stream = await client.messages.create(
            model=MODEL, max_tokens=4000, messages=user(PROMPT), stream=True, extra_headers=PACE
        )
        received = 0
        async for event in stream:
            if event.type == "content_block_delta":
                received += 1
                if received == 20:
                    break
        await stream.close()
        (record,) = await sim.wait_for_requests(1)
        assert record.hung_up and record.status == 200 and record.stream
        # Only what was already in flight when the client left: far fewer than the 2000 planned.
        assert 20 <= record.output_tokens <= 40
        assert record.duration_s < 2


async def test_cancelling_the_task_that_reads_the_stream_is_a_hang_up():
    async with Simulator(SimulatorConfig()) as sim, sdk_client(sim) as client:
        twenty_received = asyncio.Event()

        async def read_stream() -> None:
            received = 0
            async with await client.messages.create(
                model=MODEL, max_tokens=4000, messages=user(PROMPT), stream=True, extra_headers=PACE
            ) as stream:
                async for event in stream:
                    if event.type == "content_block_delta":
                        received += 1
                        if received == 20:
                            twenty_received.set()

        reader = asyncio.create_task(read_stream())
        await asyncio.wait_for(twenty_received.wait(), timeout=5)
        reader.cancel()
        await asyncio.gather(reader, return_exceptions=True)
        (record,) = await sim.wait_for_requests(1)
        assert record.hung_up and 20 <= record.output_tokens <= 40
        tokens_at_hang_up = record.output_tokens
        await asyncio.sleep(0.2)
        assert sim.log[0].output_tokens == tokens_at_hang_up and len(sim.log) == 1


async def test_a_client_leaving_during_the_first_token_wait_is_a_hang_up():
    async with Simulator(SimulatorConfig(ttft_ms=5000)) as sim, sdk_client(sim, timeout=0.3) as client:
        with pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)):
            async for _ in await client.messages.create(
                model=MODEL, max_tokens=100, messages=user(PROMPT), stream=True
            ):
                pass
        (record,) = await sim.wait_for_requests(1)
        assert record.hung_up and record.output_tokens == 0
