"""`claude_batch` with `api: batches`, through the official SDK against the simulated Batches API."""

from __future__ import annotations

from tests.engine.conftest import harness_factory, workflow

__all__ = ["harness_factory", "workflow"]
