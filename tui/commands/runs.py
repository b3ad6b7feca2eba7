"""`pipeline runs` (past runs, newest first) and `pipeline show RUN [STEP]` (a run, or a step's answer)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path
from typing import Any

from engine.results import EXIT_FAILED, EXIT_SUCCEEDED, EXIT_USAGE

DEFAULT_OUTPUT_DIR = "outputs"


def output_dir_of(args: Any) -> Path:
    return Path(getattr(args, "output_dir", None) or DEFAULT_OUTPUT_DIR)


def runs_main(args: Any) -> int:
    from engine.history import RecordError, list_runs

    try:
        runs = list_runs(output_dir_of(args))
    except RecordError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.limit:
        runs = runs[: args.limit]
    rows = [("run", "workflow", "status", "started", "time", "cost", "steps")]
    for run in runs:
        status = "forced quit" if run.forced_quit else run.status
        if run.resumed_from:
            status += " (resumed)"
        rows.append(
            (
                run.run_id,
                run.workflow[:30],
                status,
                _when(run.started_at),
                _duration(run.duration_s),
                f"${run.cost_usd:.4f}",
                f"{run.steps_done}/{run.steps_total}",
            )
        )
    if len(rows) == 1:
        print(f"no runs in {output_dir_of(args)}")
        return EXIT_SUCCEEDED
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    out = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    sys.stdout.write("\n".join(out) + "\n")
    return EXIT_SUCCEEDED


def show_main(args: Any) -> int:
    from engine.history import RecordError, find_run, read_record

    try:
        run_dir = find_run(args.run, output_dir_of(args))
        record = read_record(run_dir)
    except RecordError as exc:
        print(f"pipeline: {exc}", file=sys.stderr)
        return EXIT_USAGE
    if args.step:
        return _show_step(run_dir, record, args.step, args)
    print("\n".join(run_lines(run_dir, record)))
    return EXIT_SUCCEEDED


def run_lines(run_dir: Path, record: dict[str, Any]) -> list[str]:
    from engine.history import summarize

    run = summarize(record, run_dir.name)
    status = "forced quit" if run.forced_quit else run.status
    lines = [
        f"run {run.run_id} · {run.workflow} · {status}" + (f": {run.reason}" if run.reason else ""),
        f"started {_when(run.started_at)} · {_duration(run.duration_s)} · ${run.cost_usd:.4f}"
        f" · steps {run.steps_done}/{run.steps_total} done",
    ]
    if run.resumed_from:
        lines.append(f"resumed from run {run.resumed_from}")
    lines.append(f"folder {run_dir}")
    rows = [("step", "status", "attempts", "tokens in/out", "cost", "result")]
    for step_id, step in record.get("steps", {}).items():
        if not isinstance(step, dict):
            continue
        rows.append(_row(step_id, step))
        if isinstance(step.get("items"), dict):
            rows += _item_rows(run_dir, record, step_id, step["items"])
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines.append("")
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    return lines


SHOWN_ITEMS = 20  # rows of an itemized step's items; the rest are counted


def _row(step_id: str, step: dict[str, Any]) -> tuple[str, ...]:
    label = ("  " + step_id.removeprefix(f"{step['parent']}.")) if step.get("parent") else step_id
    status = "reused" if step.get("reused_from") else str(step.get("status", "?"))
    if step.get("reason") and status not in ("succeeded", "reused"):
        status += f" ({step['reason']})"
    usage = step.get("usage") or {}
    result = step.get("text_file") or ""
    if step.get("data") is not None or step.get("data_file"):
        result = (result + " + data").strip(" +") if result else "data"
    return (
        label,
        status[:60],
        str(step.get("attempts", "")),
        f"{usage.get('input_tokens', 0)}/{usage.get('output_tokens', 0)}",
        f"${float(step.get('cost_usd') or 0):.4f}",
        result,
    )


def _item_rows(
    run_dir: Path, record: dict[str, Any], step_id: str, items: dict[str, Any]
) -> list[tuple[str, ...]]:
    """The first items of an itemized step as rows, then how many items ended how."""
    from engine.history import items_of

    rows = []
    for item in items_of(run_dir, record, step_id):
        if len(rows) == SHOWN_ITEMS:
            break
        rows.append(_row(item["id"], {**item, "parent": step_id, "text_file": None}))
    counts = ", ".join(
        f"{items[key]:,} {key}" for key in ("succeeded", "failed", "interrupted", "skipped") if items.get(key)
    )
    total = items.get("count", 0)
    pending = total - sum(items.get(key, 0) for key in ("succeeded", "failed", "interrupted", "skipped"))
    counts += f"{', ' if counts else ''}{pending:,} not done" if pending > 0 else ""
    rows.append((f"  {total:,} items: {counts or 'none done'}", "", "", "", "", str(items.get("file") or "")))
    return rows


def _show_step(run_dir: Path, record: dict[str, Any], step_id: str, args: Any) -> int:
    from engine.history import find_item, step_data, step_text

    steps = record.get("steps", {})
    item = find_item(run_dir, record, step_id) if step_id not in steps else None
    if item is not None:  # an item of an itemized step: its text (it has no data of its own)
        if args.data:
            print(f"pipeline: step {step_id!r} has no data", file=sys.stderr)
            return EXIT_FAILED
        text = item.get("text") if isinstance(item.get("text"), str) else ""
        sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
        return EXIT_SUCCEEDED
    if step_id not in steps:
        known = ", ".join(list(steps)[:10]) or "none"
        print(f"pipeline: run {run_dir.name} has no step {step_id!r} (steps: {known})", file=sys.stderr)
        return EXIT_USAGE
    data = step_data(run_dir, record, step_id)
    extracted = data is not None and steps[step_id].get("type") == "claude_extract"
    wants_data = args.data or (extracted and not args.text)
    if wants_data:
        if data is None:
            print(f"pipeline: step {step_id!r} has no data", file=sys.stderr)
            return EXIT_FAILED
        print(json.dumps(data, ensure_ascii=False, indent=2))
        return EXIT_SUCCEEDED
    text = step_text(run_dir, record, step_id)
    if text is None:
        status = steps[step_id].get("status", "?")
        print(f"pipeline: step {step_id!r} ({status}) left no text in {run_dir}", file=sys.stderr)
        return EXIT_FAILED
    sys.stdout.write(text if text.endswith("\n") or not text else text + "\n")
    return EXIT_SUCCEEDED


def _when(stamp: float | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp)) if stamp else "-"


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    return f"{minutes}m{rest:02d}s" if minutes < 60 else f"{minutes // 60}h{minutes % 60:02d}m"
