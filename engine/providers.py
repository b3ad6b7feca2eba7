"""Chooses where Claude calls go (the real Messages API or the embedded simulator) behind one client.

Either way the engine gets a configured `anthropic.AsyncAnthropic`: one code path for both.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Literal

import anthropic

from engine.simulator import Simulator, SimulatorConfig

ProviderName = Literal["auto", "anthropic", "simulator"]
PROVIDER_NAMES: tuple[ProviderName, ...] = ("auto", "anthropic", "simulator")
CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")
# The simulator accepts any key; a fixed dummy one means a real key is never sent to it.
SIMULATOR_API_KEY = "sk-simulator"
# Read timeout bounds the wait for each chunk of a stream, so a stalled stream fails instead of hanging.
DEFAULT_TIMEOUT = anthropic.Timeout(600.0, connect=5.0)


@dataclass(frozen=True)
class Provider:
    """An open provider: the client to call, and whether its answers are simulated."""

    client: anthropic.AsyncAnthropic
    simulated: bool
    simulator: Simulator | None


def has_credentials() -> bool:
    return any(os.environ.get(name) for name in CREDENTIAL_VARIABLES)


def http_client() -> anthropic.DefaultAioHttpClient:
    """The SDK's own aiohttp transport (its `aiohttp` extra, vendored in the SDK): measured here it costs
    about half the CPU per streamed delta of the default httpx transport with many streams at once."""
    return anthropic.DefaultAioHttpClient()


@asynccontextmanager
async def open_provider(
    name: ProviderName = "auto",
    simulator_config: SimulatorConfig | None = None,
    timeout: float | anthropic.Timeout = DEFAULT_TIMEOUT,
    # The engine retries every failure itself (each attempt visible as an event), so the SDK does not.
    max_retries: int = 0,
) -> AsyncIterator[Provider]:
    """The provider `name` asks for (auto: the real API when credentials are set, else the simulator).

    The simulator, when used, serves on a free port of 127.0.0.1 until the block ends.
    """
    if name not in PROVIDER_NAMES:
        raise ValueError(f"unknown provider {name!r}: expected one of {', '.join(PROVIDER_NAMES)}")
    if name == "anthropic" or (name == "auto" and has_credentials()):
        # The SDK reads the key and ANTHROPIC_BASE_URL from the environment itself; we never hold the key.
        async with anthropic.AsyncAnthropic(
            timeout=timeout, max_retries=max_retries, http_client=http_client()
        ) as client:
            yield Provider(client=client, simulated=False, simulator=None)
        return
    async with (
        Simulator(simulator_config) as simulator,
        anthropic.AsyncAnthropic(
            base_url=simulator.base_url,
            api_key=SIMULATOR_API_KEY,
            timeout=timeout,
            max_retries=max_retries,
            http_client=http_client(),
        ) as client,
    ):
        yield Provider(client=client, simulated=True, simulator=simulator)
