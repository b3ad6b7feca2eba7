"""How a run sets up the embedded simulator: the scenario shipped beside a workflow, and the pace.

Cheap to import (no aiohttp): the dashboard reads the scenario before its first screen.
"""

from __future__ import annotations

from pathlib import Path

from engine.simulator.scenario import Scenario, SimulatorConfig

# Without a scenario that sets the pace, the simulator answers like the real API feels.
SIMULATED_TTFT_MS = 300.0
SIMULATED_TOKENS_PER_SECOND = 80.0


def scenario_beside(workflow_file: Path) -> Path | None:
    """A simulator scenario shipped beside a workflow: `name.scenario.yaml` or `scenarios/name.yaml`."""
    for candidate in (
        workflow_file.with_name(f"{workflow_file.stem}.scenario.yaml"),
        workflow_file.parent / "scenarios" / f"{workflow_file.stem}.yaml",
    ):
        if candidate.is_file():
            return candidate
    return None


def run_simulator_config(
    scenario_path: Path | None, ttft_ms: float | None = None, tokens_per_second: float | None = None
) -> SimulatorConfig:
    """The simulator's set-up for a run: the scenario, and the pace from the arguments, the scenario or
    the defaults above (in that order). Raises `ScenarioError` for a broken scenario file."""
    scenario = Scenario.load(scenario_path) if scenario_path else None
    if ttft_ms is None and (scenario is None or scenario.ttft_ms is None):
        ttft_ms = SIMULATED_TTFT_MS
    if tokens_per_second is None and (scenario is None or scenario.tokens_per_second is None):
        tokens_per_second = SIMULATED_TOKENS_PER_SECOND
    return SimulatorConfig(scenario=scenario, ttft_ms=ttft_ms, tokens_per_second=tokens_per_second)
