"""Opening a run: the provider (the real API or the embedded simulator), its client and the Runner.

The console and the dashboard both start runs through `open_run`, so a run is set up one way only.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from engine import telemetry
from engine.handlers import HandlerEnvironment
from engine.limits import raise_open_file_limit
from engine.providers import Provider, ProviderName, open_provider
from engine.resume import ResumeSource
from engine.runner import RunHandle, Runner
from engine.simulator import SimulatorConfig
from engine.workflow.model import Workflow


def start_run(
    workflow: Workflow,
    provider: Provider,
    *,
    provider_name: str = "auto",
    output_dir: Path | None = None,
    handlers: HandlerEnvironment | None = None,
    resume: ResumeSource | None = None,
) -> RunHandle:
    """Start `workflow` on an open provider; the run goes on in its own task.

    With `resume`, steps whose recorded result in that run is still valid are reused, not run."""
    runner = Runner(
        workflow,
        provider.client,
        provider=provider_name,
        simulated=provider.simulated,
        output_dir=output_dir,
        handlers=handlers,
        resume=resume,
    )
    return runner.start()


@asynccontextmanager
async def open_run(
    workflow: Workflow,
    *,
    provider: ProviderName = "auto",
    simulator: SimulatorConfig | None = None,
    output_dir: Path | None = None,
    handlers: HandlerEnvironment | None = None,
    resume: ResumeSource | None = None,
) -> AsyncIterator[RunHandle]:
    """Open the provider, start `workflow` and yield its run handle; leaving the block closes the provider.

    Tracing is set up from `OTEL_*` on the first run of the process; leaving exports the run's spans.
    """
    raise_open_file_limit()  # wide parallel and batch steps need many connections at once
    telemetry.configure()
    try:
        async with open_provider(provider, simulator_config=simulator) as opened:
            yield start_run(
                workflow,
                opened,
                provider_name=provider,
                output_dir=output_dir,
                handlers=handlers,
                resume=resume,
            )
    finally:
        await asyncio.to_thread(telemetry.flush)
