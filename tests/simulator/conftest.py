"""Fixtures for simulator tests: a running simulator and an official-SDK client pointed at it."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anthropic
import pytest

from engine.simulator import Simulator, SimulatorConfig
from tests.simulator.support import sdk_client


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig()) as sim:
        yield sim


@pytest.fixture
async def client(simulator: Simulator) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with sdk_client(simulator) as sdk:
        yield sdk
