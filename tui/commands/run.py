"""`pipeline run FILE`: validate, then run the workflow in the dashboard (a terminal) or the console."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path
from typing import Any

from tui.cli import EXIT_INTERRUPTED, EXIT_USAGE


def scenario_beside(workflow_file: Path) -> Path | None:
    """A simulator scenario shipped beside a workflow: `name.scenario.yaml` or `scenarios/name.yaml`."""
    for candidate in (
        workflow_file.with_name(f"{workflow_file.stem}.scenario.yaml"),
        workflow_file.parent / "scenarios" / f"{workflow_file.stem}.yaml",
    ):
        if candidate.is_file():
            return candidate
    return None


def main(args: Any) -> int:
    from engine.workflow import load_workflow
    from tui.cli import vars_from_args

    loaded = load_workflow(args.file, vars=vars_from_args(args))
    for warning in loaded.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if loaded.errors or loaded.workflow is None:
        for error in loaded.errors:
            print(str(error), file=sys.stderr)
        return EXIT_USAGE
    scenario = Path(args.scenario) if args.scenario else scenario_beside(Path(args.file))
    if sys.stdout.isatty() and not args.no_tui:
        from tui.dashboard import run_dashboard

        return run_dashboard(loaded.workflow, args, scenario)
    return asyncio.run(run_in_console(loaded.workflow, args, scenario))


# Without a scenario that sets the pace, the simulator answers like the real API feels.
SIMULATED_TTFT_MS = 300.0
SIMULATED_TOKENS_PER_SECOND = 80.0


def simulator_config(args: Any, scenario_path: Path | None) -> Any:
    """The simulator's set-up for a run: the scenario, and the pace from the flags, the scenario or
    the defaults above (in that order)."""
    from engine.simulator import Scenario, SimulatorConfig

    scenario = Scenario.load(scenario_path) if scenario_path else None
    ttft = args.ttft_ms
    if ttft is None and (scenario is None or scenario.ttft_ms is None):
        ttft = SIMULATED_TTFT_MS
    pace = args.tokens_per_second
    if pace is None and (scenario is None or scenario.tokens_per_second is None):
        pace = SIMULATED_TOKENS_PER_SECOND
    return SimulatorConfig(scenario=scenario, ttft_ms=ttft, tokens_per_second=pace)


async def run_in_console(workflow: Any, args: Any, scenario: Path | None) -> int:
    from engine.handlers import ConsoleWriter, HandlerEnvironment
    from engine.providers import open_provider
    from engine.runner import Runner

    writer = ConsoleWriter(sys.stdout)
    try:
        sim_config = simulator_config(args, scenario) if args.provider != "anthropic" else None
    except Exception as exc:  # a broken scenario file is a user mistake: one line, no traceback
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # The engine retries every failure itself (each attempt visible as an event), so the SDK does not.
    async with open_provider(args.provider, simulator_config=sim_config, max_retries=0) as provider:
        badge = "SIMULATED" if provider.simulated else "LIVE"
        runner = Runner(
            workflow,
            provider.client,
            provider=args.provider,
            simulated=provider.simulated,
            output_dir=Path(args.output_dir) if args.output_dir else None,
            env=HandlerEnvironment(console=writer),
        )
        print(
            writer.prefix("pipeline") + f"{workflow.name} · {len(workflow.steps)} steps · {badge}"
            f" · run {runner.run_id}",
            flush=True,
        )
        handle = runner.start()
        presses = 0
        loop = asyncio.get_running_loop()

        def on_sigint() -> None:
            nonlocal presses
            presses += 1
            if presses == 1:
                print("\nstopping: interrupting running steps (Ctrl+C again to force)", file=sys.stderr)
                handle.interrupt_all("interrupted by user (Ctrl+C)")
                return
            handle.record_forced_quit("forced quit (Ctrl+C twice)")
            sys.stdout.flush()
            os._exit(EXIT_INTERRUPTED)

        loop.add_signal_handler(signal.SIGINT, on_sigint)
        loop.add_signal_handler(signal.SIGTERM, lambda: handle.interrupt_all("terminated (SIGTERM)"))
        try:
            result = await handle
        finally:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(Exception):
                    loop.remove_signal_handler(sig)
    print_summary(result, workflow)
    return result.exit_code


def print_summary(result: Any, workflow: Any) -> None:
    rows = [("step", "status", "time", "tokens in/out", "cost")]

    def row(label: str, step: Any) -> tuple[str, ...]:
        m = step.metrics
        status = step.status + (f" ({step.reason})" if step.reason and step.status != "succeeded" else "")
        return (
            label,
            status[:70],
            f"{m.duration_s:.1f}s",
            f"{m.input_tokens}/{m.output_tokens}",
            f"${m.cost_usd:.4f}",
        )

    for name, step in result.steps.items():
        rows.append(row(name, step))
        for task_id, task in result.tasks.items():
            if task_id.startswith(name + "."):
                rows.append(row("  " + task_id.removeprefix(name + "."), task))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    print()
    for r in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())
    print(
        f"\nrun {result.status} in {result.duration_s:.1f}s, ${result.cost_usd:.4f}"
        f" · record: {result.run_dir}/run.json"
    )
