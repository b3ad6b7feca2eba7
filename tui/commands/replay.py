"""`pipeline replay RUN`: a recorded run played again into the dashboard or the console, no API calls."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from typing import Any

from engine.results import EXIT_SUCCEEDED, EXIT_USAGE


def main(args: Any) -> int:
    from engine.history import RecordError, find_run
    from engine.replay import ReplayRun
    from tui.commands.runs import output_dir_of

    try:
        run_dir = find_run(args.run, output_dir_of(args))
        events = ReplayRun.load(run_dir).events
    except RecordError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from tui.commands.web import dashboard_wanted, serve

    if args.web:
        return serve(args)
    if dashboard_wanted(args):
        return replay_in_dashboard(ReplayRun(events, run_dir, speed=args.speed), args)
    return asyncio.run(replay_in_console(events, run_dir, args.speed))


def replay_app(replay: Any, args: Any, **options: Any) -> Any:
    from tui.app import DashboardApp

    dark = (getattr(args, "theme", None) or os.environ.get("PIPELINE_THEME", "dark")) != "light"
    return DashboardApp(
        replay.open, exit_when_done=getattr(args, "exit_when_done", False), dark=dark, **options
    )


def replay_in_dashboard(replay: Any, args: Any) -> int:
    app = replay_app(replay, args)
    app.run()
    return EXIT_SUCCEEDED


async def replay_in_console(events: Any, run_dir: Any, speed: float) -> int:
    from engine.handlers import ConsoleWriter, HandlerEnvironment
    from engine.replay import ReplayRun
    from tui.summary import print_summary

    writer = ConsoleWriter(sys.stdout)
    replay = ReplayRun(
        events, run_dir, speed=speed, handlers=("console",), handler_env=HandlerEnvironment(console=writer)
    )
    loop = asyncio.get_running_loop()
    async with replay.open() as handle:
        pace = f"{speed:g}x" if speed != 1 else "original timing"
        header = f"replay of run {handle.run_id} · {pace} · no API calls"
        print(writer.prefix("pipeline") + header, flush=True)
        loop.add_signal_handler(signal.SIGINT, handle.interrupt_all)
        try:
            result = await handle
        finally:
            with contextlib.suppress(Exception):
                loop.remove_signal_handler(signal.SIGINT)
    print_summary(result)
    # The replay succeeded whatever the recorded run did: its status is in the summary.
    return EXIT_SUCCEEDED
