"""The embedded Messages-API simulator: Claude's wire protocol served locally, with pacing and a fault script.

Used by `--provider simulator`, by the tests, and alone as `pipeline simulate`. The server (and aiohttp
behind it) is imported on first use, so reading a scenario stays cheap (the dashboard paints first).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from engine.simulator.scenario import Scenario, ScenarioError, SimulatorConfig

if TYPE_CHECKING:
    from engine.simulator.server import RequestRecord, Simulator


def __getattr__(name: str) -> Any:
    if name in ("RequestRecord", "Simulator"):
        return getattr(importlib.import_module("engine.simulator.server"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["RequestRecord", "Scenario", "ScenarioError", "Simulator", "SimulatorConfig"]
