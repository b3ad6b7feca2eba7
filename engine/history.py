"""Past runs in an output folder: reading one run's record, finding a run by id or prefix, listing them.

The run folders are the source of truth. `.runs-index.json` in the output folder caches each run's
summary with the size and mtime of the run.json it was read from, so listing thousands of runs costs
one stat per run; an entry whose run.json changed (or a missing or broken index) is read afresh.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from engine.record import write_json_atomically

INDEX_NAME = ".runs-index.json"
INDEX_VERSION = 1
RECORD_NAME = "run.json"


class RecordError(Exception):
    """A run cannot be found or its record cannot be read; the message is one line for the user."""


def read_record(run_dir: Path) -> dict[str, Any]:
    path = run_dir / RECORD_NAME
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise RecordError(f"{run_dir}: no run.json (not a run folder, or the run never started)") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    try:
        record = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise RecordError(f"{path}: not valid JSON ({exc}); the record is broken") from None
    if not isinstance(record, dict) or not isinstance(record.get("steps", {}), dict):
        raise RecordError(f"{path}: not a run record")
    return record


@dataclass(frozen=True)
class RunSummary:
    """One line of `pipeline runs`."""

    run_id: str
    workflow: str
    status: str  # succeeded, failed, interrupted, running, or broken (run.json unreadable)
    reason: str
    started_at: float | None
    duration_s: float | None
    cost_usd: float
    steps_done: int
    steps_total: int
    resumed_from: str | None = None

    @property
    def forced_quit(self) -> bool:
        return self.status == "interrupted" and self.reason.startswith("forced")


def summarize(record: dict[str, Any], run_id: str) -> RunSummary:
    steps = [s for s in record.get("steps", {}).values() if isinstance(s, dict) and not s.get("parent")]
    started, finished = _number(record.get("started_at")), _number(record.get("finished_at"))
    duration = _number(record.get("duration_s"))
    if duration is None and started is not None and finished is not None:
        duration = finished - started
    return RunSummary(
        run_id=str(record.get("run_id") or run_id),
        workflow=str(record.get("workflow") or "?"),
        status=str(record.get("status") or "?"),
        reason=str(record.get("reason") or ""),
        started_at=started,
        duration_s=duration,
        cost_usd=_number(record.get("cost_usd")) or 0.0,
        steps_done=sum(1 for s in steps if s.get("status") == "succeeded"),
        steps_total=len(steps),
        resumed_from=record.get("resumed_from"),
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def broken_summary(run_id: str, problem: str, started_at: float | None) -> RunSummary:
    return RunSummary(run_id, "?", "broken", problem, started_at, None, 0.0, 0, 0)


def list_runs(output_dir: Path) -> list[RunSummary]:
    """Every run folder under `output_dir`, newest first; the index is refreshed as a side effect."""
    try:
        entries = [e for e in os.scandir(output_dir) if not e.name.startswith(".") and e.is_dir()]
    except FileNotFoundError:
        raise RecordError(f"{output_dir}: no such folder (no runs yet?)") from None
    except NotADirectoryError:
        raise RecordError(f"{output_dir}: not a folder") from None
    except OSError as exc:
        raise RecordError(f"{output_dir}: cannot be read: {exc.strerror or exc}") from None
    index = _read_index(output_dir)
    fresh: dict[str, dict[str, Any]] = {}
    changed = False
    for entry in entries:
        try:
            stat = os.stat(os.path.join(entry.path, RECORD_NAME))
        except OSError:
            continue  # not a run folder (or one whose run.json is not written yet)
        key = [stat.st_size, stat.st_mtime_ns]
        cached = index.get(entry.name)
        if cached is not None and cached.get("key") == key:
            fresh[entry.name] = cached
            continue
        changed = True
        try:
            summary = summarize(read_record(Path(entry.path)), entry.name)
        except RecordError as exc:
            summary = broken_summary(entry.name, str(exc).split(": ", 1)[-1], stat.st_mtime)
        fresh[entry.name] = {"key": key, "summary": asdict(summary)}
    if changed or len(fresh) != len(index):
        with contextlib.suppress(OSError):
            write_json_atomically(output_dir / INDEX_NAME, {"version": INDEX_VERSION, "runs": fresh})
    summaries = []
    for cached in fresh.values():
        try:
            summaries.append(RunSummary(**cached["summary"]))
        except (TypeError, KeyError):
            continue
    # Run ids start with the start time, so they break ties (and order runs without a start time).
    summaries.sort(key=lambda s: (s.started_at or 0.0, s.run_id), reverse=True)
    return summaries


def _read_index(output_dir: Path) -> dict[str, dict[str, Any]]:
    try:
        index = json.loads((output_dir / INDEX_NAME).read_bytes())
    except (OSError, ValueError):
        return {}
    if not isinstance(index, dict) or index.get("version") != INDEX_VERSION:
        return {}
    runs = index.get("runs")
    return runs if isinstance(runs, dict) else {}


def find_run(ref: str, output_dir: Path) -> Path:
    """A run folder from a path, a run id, or a unique prefix of one in `output_dir`."""
    as_path = Path(ref)
    if as_path.name == RECORD_NAME and as_path.is_file():
        return as_path.parent
    if as_path.is_dir() and (as_path / RECORD_NAME).exists():
        return as_path
    if "/" not in ref and (output_dir / ref).is_dir():
        return output_dir / ref
    try:
        names = sorted(e.name for e in os.scandir(output_dir) if e.is_dir() and e.name.startswith(ref))
    except OSError:
        names = []
    if len(names) == 1 and ref and "/" not in ref:
        return output_dir / names[0]
    if len(names) > 1 and ref:
        shown = ", ".join(names[:5]) + (", ..." if len(names) > 5 else "")
        raise RecordError(f"run {ref!r} is ambiguous in {output_dir}: {shown}")
    raise RecordError(f"no run {ref!r} in {output_dir} (give a run id, a unique prefix or a run folder)")


def _inside(run_dir: Path, relative: Any) -> Path | None:
    """A path the record names, when it stays inside the run folder (a hostile record is not followed)."""
    if not isinstance(relative, str):
        return None
    path = (run_dir / relative).resolve()
    return path if run_dir.resolve() in path.parents else None


def items_of(
    run_dir: Path, record: dict[str, Any], step_id: str, only: str | None = None
) -> Iterator[dict[str, Any]]:
    """An itemized step's items as recorded (`results/<step>.items.jsonl`, one line each, in the order
    they ended); nothing when the step has none or the file cannot be read. A broken line is skipped.
    `only`: just that item's lines (the others are not parsed)."""
    step = record.get("steps", {}).get(step_id)
    items = step.get("items") if isinstance(step, dict) else None
    path = _inside(run_dir, items.get("file")) if isinstance(items, dict) else None
    if path is None:
        return
    needle = None if only is None else '"id":' + json.dumps(only, ensure_ascii=False)
    with contextlib.suppress(OSError), open(path, encoding="utf-8", errors="replace") as lines:
        for line in lines:
            if needle is not None and needle not in line:
                continue
            with contextlib.suppress(ValueError):
                item = json.loads(line)
                wanted = isinstance(item, dict) and isinstance(item.get("id"), str)
                if wanted and (only is None or item["id"] == only):
                    yield item


def find_item(run_dir: Path, record: dict[str, Any], item_id: str) -> dict[str, Any] | None:
    """One item of an itemized step (`<step>.<item>`) from its step's items file, or None; a later
    line for the same item wins."""
    for step_id, step in record.get("steps", {}).items():
        if isinstance(step, dict) and step.get("items") and item_id.startswith(step_id + "."):
            lines = list(items_of(run_dir, record, step_id, only=item_id))
            if lines:
                return lines[-1]
    return None


def step_text(run_dir: Path, record: dict[str, Any], step_id: str) -> str | None:
    """A step's full text: its results file, else its stream file, else None; an item of an
    itemized step, from its step's items file."""
    step = record.get("steps", {}).get(step_id)
    if step is None:
        item = find_item(run_dir, record, step_id)
        if item is not None:
            return item["text"] if isinstance(item.get("text"), str) else ""
    step = step or {}
    candidates = []
    if isinstance(step.get("text_file"), str):
        candidates.append(step["text_file"])
    candidates.append(f"streams/{step_id}.txt")
    for relative in candidates:
        path = (run_dir / relative).resolve()
        if run_dir.resolve() not in path.parents:
            continue  # a record pointing outside its folder is not followed
        with contextlib.suppress(OSError, UnicodeDecodeError):
            return path.read_text(encoding="utf-8")
    return None


def step_data(run_dir: Path, record: dict[str, Any], step_id: str) -> Any:
    """A step's parsed data (inline in run.json, or in its data file), or None. An itemized step's data
    is its items' status, reason and text by item, read from its items file."""
    step = record.get("steps", {}).get(step_id) or {}
    if step.get("items"):
        prefix = step_id + "."
        return {
            item["id"].removeprefix(prefix): {
                "status": item.get("status"),
                "reason": item.get("reason") or "",
                "text": item.get("text") or "",
            }
            for item in items_of(run_dir, record, step_id)
        }
    if step.get("data") is not None:
        return step["data"]
    relative = step.get("data_file")
    if isinstance(relative, str):
        path = (run_dir / relative).resolve()
        if run_dir.resolve() in path.parents:
            with contextlib.suppress(OSError, ValueError):
                return json.loads(path.read_bytes())
    return None
