"""`pipeline run` in a terminal: the dashboard on the same launch path as the console.

Only textual and the app are imported up front; the engine (and the SDK behind it) is imported once
the first screen is painted, so the dashboard shows within a second.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any


def dashboard_app(workflow: Any, launch: Any, **options: Any) -> Any:
    """The app on `launch` (see `tui.commands.run.launcher`), with a forced quit that keeps the record."""
    from tui.app import DashboardApp

    @contextlib.asynccontextmanager
    async def open_run() -> AsyncIterator[Any]:
        # Importing the SDK takes about 1.5 s of CPU: done aside so the painted dashboard stays live.
        await asyncio.to_thread(importlib.import_module, "engine.launch")
        from engine.handlers import HandlerEnvironment

        # Console handlers would write over the dashboard; the others keep working.
        async with launch(HandlerEnvironment(console_enabled=False)) as handle:
            yield handle

    def record_forced_quit(reason: str) -> None:
        if app.handle is not None:
            app.handle.record_forced_quit(reason)

    app = DashboardApp(
        open_run, concurrency_limit=workflow.max_streams(), on_forced_quit=record_forced_quit, **options
    )
    return app


def run_dashboard(
    workflow: Any, args: Any, launch: Any, on_resume: Callable[[Path], int] | None = None
) -> int:
    app = dashboard_app(
        workflow,
        launch,
        exit_when_done=args.exit_when_done,
        stop_on_error=args.stop_on_error,
        dark=(args.theme or os.environ.get("PIPELINE_THEME", "dark")) != "light",
        handle_sigterm=True,
    )
    code = app.run()
    if app.run_result is not None:
        from tui.summary import print_summary

        print_summary(app.run_result)
        if app.resume_requested and on_resume is not None:  # R: the same command again, resuming it
            return on_resume(app.run_result.run_dir)
    else:  # a forced quit, or a run that could not start: what the dashboard knew
        from engine.inert import inert_text

        print(inert_text(app.status_line), flush=True)
    return app.return_code if app.return_code is not None else int(code or 0)
