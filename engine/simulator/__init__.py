"""The embedded Messages-API simulator: Claude's wire protocol served locally, with pacing and a fault script.

Used by `--provider simulator`, by the tests, and alone as `pipeline simulate`.
"""

from engine.simulator.scenario import Scenario, ScenarioError
from engine.simulator.server import RequestRecord, Simulator, SimulatorConfig

__all__ = ["RequestRecord", "Scenario", "ScenarioError", "Simulator", "SimulatorConfig"]
