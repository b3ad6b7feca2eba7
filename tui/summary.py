"""The summary printed when a run ends, by the console mode and when the dashboard closes alike."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any, TextIO

from engine.inert import inert_text

SHOWN_TASKS = 20  # task rows per step; the rest are counted


def summary_lines(result: Any) -> list[str]:
    """A table of the run's steps (tasks beneath their step), then the run's status, cost and record."""
    rows = [("step", "status", "time", "tokens in/out", "cost")]

    def row(label: str, step: Any) -> tuple[str, ...]:
        m = step.metrics
        status = step.status + (f" ({step.reason})" if step.reason and step.status != "succeeded" else "")
        if getattr(step, "reused_from", None):
            status = f"reused (run {step.reused_from})"
        return (
            label,
            status[:70],
            f"{m.duration_s:.1f}s",
            f"{m.input_tokens}/{m.output_tokens}",
            f"${m.cost_usd:.4f}",
        )

    for name, step in result.steps.items():
        rows.append(row(name, step))
        if getattr(step, "itemized", False):
            rows.append((f"  {_count_line(_statuses(step.data or {}))}", "", "", "", ""))
            continue
        tasks = [(tid, task) for tid, task in result.tasks.items() if tid.startswith(name + ".")]
        for task_id, task in tasks[:SHOWN_TASKS]:
            rows.append(row("  " + task_id.removeprefix(name + "."), task))
        if len(tasks) > SHOWN_TASKS:
            rest = [task.status for _, task in tasks[SHOWN_TASKS:]]
            rows.append((f"  ... {_count_line(rest, 'more ', 'task')}", "", "", "", ""))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = [""]
    for r in rows:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(r, widths, strict=True)).rstrip())
    failures = [
        (name, step.error)
        for name, step in (*result.steps.items(), *result.tasks.items())
        if step.status == "failed" and step.error
    ]
    if failures:
        lines.append("")
        lines.extend(f"{name} failed: {error}" for name, error in failures)
    lines.append("")
    lines.append(
        f"run {result.status} in {result.duration_s:.1f}s, ${result.cost_usd:.4f}"
        f" · record: {result.run_dir}/run.json"
    )
    if result.status in ("failed", "interrupted"):
        lines.append(f"resume it: {resume_command(result)}")
    return lines


def _statuses(data: Any) -> list[str]:
    return [str(entry.get("status")) for entry in data.values() if isinstance(entry, dict)]


def _count_line(statuses: list[str], more: str = "", noun: str = "item") -> str:
    """`1,000 items: 998 succeeded, 2 failed`."""
    counts: dict[str, int] = {}
    for status in statuses:
        counts[status] = counts.get(status, 0) + 1
    noun += "" if len(statuses) == 1 else "s"
    shown = ", ".join(f"{n:,} {status}" for status, n in sorted(counts.items(), key=lambda kv: -kv[1]))
    return f"{len(statuses):,} {more}{noun}" + (f": {shown}" if shown else "")


def resume_command(result: Any) -> str:
    """The command that runs a stopped or failed run again, reusing the steps that succeeded."""
    return f"pipeline resume {shlex.quote(_shown_path(Path(result.run_dir)))}"


def _shown_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def print_summary(result: Any, stream: TextIO | None = None) -> None:
    print(inert_text("\n".join(summary_lines(result))), file=stream or sys.stdout, flush=True)
