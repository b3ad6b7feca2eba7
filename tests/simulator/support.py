"""Helpers shared by the simulator tests: request pieces and SDK clients pointed at a simulator."""

from __future__ import annotations

import anthropic

from engine.simulator import Scenario, Simulator, SimulatorConfig

MODEL = "claude-sonnet-4-6"
PROMPT = "Explain how Python asyncio event loops schedule coroutines"


def user(text: str) -> list[dict[str, object]]:
    return [{"role": "user", "content": text}]


def sdk_client(sim: Simulator, *, timeout: float = 10, max_retries: int = 0) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        base_url=sim.base_url, api_key="sk-simulator", timeout=timeout, max_retries=max_retries
    )


def scenario_simulator(yaml_text: str, **pacing: float) -> Simulator:
    return Simulator(SimulatorConfig(scenario=Scenario.from_yaml(yaml_text), **pacing))
