"""`pipeline run` in a terminal: sets up the provider and Runner like the console path, in the app's loop.

Only textual and the app are imported up front; the engine (and the SDK behind it) is imported once
the first screen is painted, so the dashboard shows within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from tui.cli import EXIT_USAGE


def concurrency_limit(workflow: Any) -> int | None:
    """The most streams the workflow runs at once (its widest parallel or batch step), for the gauge."""
    widest = 1
    for step in workflow.steps:
        tasks = getattr(step, "parallel_tasks", None) or getattr(step, "tasks", None) or ()
        items = getattr(step, "items", None) or ()
        limit = getattr(step, "max_parallel", None)
        batch = getattr(step, "batch_config", None)
        if batch is not None:
            limit = batch.max_parallel
        count = len(tasks) or len(items)
        if count:
            widest = max(widest, min(count, limit) if limit else count)
    return widest


class EngineRun:
    """Opens the provider and starts the Runner inside the app's loop; keeps both for a forced quit."""

    def __init__(self, workflow: Any, provider: str, simulator_config: Any, output_dir: Path | None) -> None:
        self.workflow = workflow
        self.provider_name = provider
        self.simulator_config = simulator_config
        self.output_dir = output_dir
        self.provider: Any = None
        self.handle: Any = None

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[Any]:
        # Importing the SDK takes about 2 s of CPU: done aside so the painted dashboard stays live meanwhile.
        await asyncio.to_thread(importlib.import_module, "engine.providers")
        await asyncio.to_thread(importlib.import_module, "engine.runner")
        from engine.handlers import HandlerEnvironment
        from engine.providers import open_provider
        from engine.runner import Runner

        # The engine retries every failure itself (each attempt visible as an event), so the SDK does not.
        async with open_provider(self.provider_name, simulator_config=self.simulator_config,
                                 max_retries=0) as provider:
            self.provider = provider
            runner = Runner(self.workflow, provider.client, provider=self.provider_name,
                            simulated=provider.simulated, output_dir=self.output_dir,
                            # Console handlers would write over the dashboard; the others keep working.
                            env=HandlerEnvironment(console_enabled=False))
            self.handle = runner.start()
            yield self.handle

    def record_forced_quit(self, reason: str) -> None:
        """The run did not stop in time: write its record now, synchronously, so it stays consistent."""
        if self.handle is not None:
            self.handle.record_forced_quit(reason)


def run_dashboard(workflow: Any, args: Any, scenario: Path | None) -> int:
    from tui.app import DashboardApp
    from tui.commands.run import simulator_config

    try:
        sim_config = simulator_config(args, scenario) if args.provider != "anthropic" else None
    except Exception as exc:  # a broken scenario file is a user mistake: one line, no traceback
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    run = EngineRun(workflow, args.provider, sim_config, Path(args.output_dir) if args.output_dir else None)
    app = DashboardApp(
        run.open,
        exit_when_done=args.exit_when_done,
        stop_on_error=args.stop_on_error,
        concurrency_limit=concurrency_limit(workflow),
        on_forced_quit=run.record_forced_quit,
        dark=(args.theme or os.environ.get("PIPELINE_THEME", "dark")) != "light",
        handle_sigterm=True,
    )
    code = app.run()
    return app.return_code if app.return_code is not None else int(code or 0)
