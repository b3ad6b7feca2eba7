"""`pipeline run FILE`: validate, then run the workflow in the dashboard (a terminal) or the console.

Both start the run the same way: `launcher` binds what the command line says to `engine.launch.open_run`.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from pathlib import Path
from typing import Any

from engine.results import EXIT_USAGE

# Opens the run with the given handler environment and yields its (started) run handle.
Launch = Callable[[Any], AbstractAsyncContextManager[Any]]


def main(args: Any) -> int:
    from engine.inert import inert_text
    from engine.workflow import load_workflow
    from tui.cli import vars_from_args

    loaded = load_workflow(args.file, vars=vars_from_args(args))
    for warning in loaded.warnings:
        print(inert_text(f"warning: {warning}"), file=sys.stderr)
    if loaded.errors or loaded.workflow is None:
        for error in loaded.errors:
            print(inert_text(str(error)), file=sys.stderr)
        return EXIT_USAGE
    if getattr(args, "dry_run", False):
        print_dry_run(loaded.workflow)
        return 0
    try:
        resume = resume_source(args, loaded.workflow)
    except ValueError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    try:
        launch = launcher(loaded.workflow, args, resume)
    except Exception as exc:  # a broken scenario file is a user mistake: one line, no traceback
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    from tui.commands.web import dashboard_wanted, serve

    if getattr(args, "web", False):
        return serve(args)
    if dashboard_wanted(args):
        from tui.dashboard import run_dashboard

        def resume_it(run_dir: Path) -> int:
            args.resume = str(run_dir)
            return main(args)

        return run_dashboard(loaded.workflow, args, launch, on_resume=resume_it)
    return asyncio.run(run_in_console(loaded.workflow, launch))


def resume_main(args: Any) -> int:
    """`pipeline resume RUN`: `pipeline run FILE --resume RUN` with the file and vars the run recorded."""
    from engine.history import RecordError, find_run, read_record
    from tui.commands.runs import output_dir_of

    try:
        record = read_record(find_run(args.resume, output_dir_of(args)))
    except RecordError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    args.file = args.file or record.get("workflow_file")
    if not args.file:
        print(f"pipeline: run {args.resume} names no workflow file; use --file FILE", file=sys.stderr)
        return EXIT_USAGE
    recorded = record.get("vars") if isinstance(record.get("vars"), dict) else {}
    args.vars = [(str(k), str(v)) for k, v in recorded.items()] + list(args.vars)  # the command line wins
    return main(args)


def resume_source(args: Any, workflow: Any) -> Any:
    """The run `--resume` names (looked up in the run's output folder), or None; ValueError if unusable."""
    if not getattr(args, "resume", None):
        return None
    from engine.history import RecordError, find_run
    from engine.resume import ResumeSource

    output_dir = Path(args.output_dir or workflow.output_dir)
    try:
        return ResumeSource.load(find_run(args.resume, output_dir))
    except RecordError as exc:
        raise ValueError(str(exc)) from None


def launcher(workflow: Any, args: Any, resume: Any = None) -> Launch:
    """The run as the command line describes it (provider, simulator, output folder), not yet opened.

    Reads the simulator's scenario now (cheap); the engine and its SDK are imported when it opens.
    """
    from engine.simulator.defaults import run_simulator_config, scenario_beside

    simulator = None
    if args.provider != "anthropic":
        scenario = Path(args.scenario) if args.scenario else scenario_beside(Path(args.file))
        simulator = run_simulator_config(scenario, args.ttft_ms, args.tokens_per_second)
    output_dir = Path(args.output_dir) if args.output_dir else None

    def launch(handlers: Any) -> AbstractAsyncContextManager[Any]:
        from engine.launch import open_run

        return open_run(
            workflow,
            provider=args.provider,
            simulator=simulator,
            output_dir=output_dir,
            handlers=handlers,
            resume=resume,
        )

    return launch


async def run_in_console(workflow: Any, launch: Launch) -> int:
    from engine.handlers import ConsoleWriter, HandlerEnvironment
    from engine.inert import inert_text
    from tui.stop_signals import StopSignals
    from tui.summary import print_summary

    writer = ConsoleWriter(sys.stdout)
    async with launch(HandlerEnvironment(console=writer)) as handle:
        badge = "SIMULATED" if handle.simulated else "LIVE"
        print(
            writer.prefix("pipeline") + f"{inert_text(workflow.name)} · {len(workflow.steps)} steps · {badge}"
            f" · run {handle.run_id}",
            flush=True,
        )
        # Installed until the process ends: a signal during shutdown is answered too, never a traceback.
        StopSignals(handle, asyncio.get_running_loop()).install()
        result = await handle
    print_summary(result)
    return result.exit_code


def print_dry_run(workflow: Any) -> None:
    """`--dry-run`: per step, what it would send and cost both ways; nothing is called."""
    from engine.inert import inert_text
    from engine.steps.estimate import estimate_workflow

    def usd(low_high: tuple[float, float]) -> str:
        return f"${low_high[0]:.4f}-${low_high[1]:.4f}"

    estimates = asyncio.run(estimate_workflow(workflow))
    print(inert_text(f"dry run of {workflow.name}: nothing is sent"))
    print(
        "input tokens estimated as characters / 4 (no tokenizer); "
        "cost from the input alone to every answer at max_tokens"
    )
    rows = [("step", "type", "api", "requests", "input tokens", "messages API", "batches API")]
    rows += [
        (
            inert_text(e.name),
            e.step_type,
            e.api,
            f"{e.requests:,}",
            f"{e.input_tokens:,}",
            usd(e.messages_usd),
            usd(e.batches_usd),
        )
        for e in estimates
    ]
    total = tuple(
        sum(getattr(e, f)[i] for e in estimates) for f in ("messages_usd", "batches_usd") for i in (0, 1)
    )
    chosen = (sum(e.chosen_usd[0] for e in estimates), sum(e.chosen_usd[1] for e in estimates))
    rows.append(
        (
            "total",
            "",
            "",
            f"{sum(e.requests for e in estimates):,}",
            f"{sum(e.input_tokens for e in estimates):,}",
            usd(total[:2]),
            usd(total[2:]),
        )
    )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print(
            "  ".join(
                cell.ljust(width) if i < 3 else cell.rjust(width)
                for i, (cell, width) in enumerate(zip(row, widths, strict=True))
            ).rstrip()
        )
    print(f"as configured (each step's api): {usd(chosen)}")
