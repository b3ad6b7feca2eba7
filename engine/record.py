"""The run record: `run.json` (kept current, written atomically), `events.jsonl` (every event) and
`results/` (each step's final text, and its data when large).

run.json follows `engine/data/run.schema.json` (its `schema_version`): per step and task the status
and reason, attempts, usage and cost, the metrics, where the full text lives, the parsed `data` and
the input fingerprint that `--resume` compares.

The items of an itemized step (`claude_batch` with `api: batches`: up to 100,000 of them) have no
entries of their own: each finished item is one line of `results/<step>.items.jsonl` (the fields of
a step entry, its id and its text), written as it finishes, and the step's entry counts them
(`items`). A run.json of 100,000 full entries would cost some 2 KB of memory per item and a rewrite
of megabytes per snapshot.

events.jsonl is what `pipeline replay` plays back: every line has the wall-clock time its first event
was published. Consecutive text deltas of a step are merged into one `text` line per drain, with
`offsets` ([ms after `ts`, characters] per burst) so replay keeps their timing while the log stays
proportional to the text, not to tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from engine.bus import EventBus
from engine.events import (
    BatchProgress,
    Event,
    Interrupted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepPhase,
    StepSaved,
    StepStarted,
    TextDelta,
    ThinkingDelta,
    TurnStarted,
    Usage,
    event_to_dict,
    metrics_to_dict,
)
from engine.pricing import price_for

if TYPE_CHECKING:
    from engine.results import StepResult

SCHEMA_VERSION = 2
SNAPSHOT_EVERY_S = 1.0
RECORD_LATENCY_S = 0.1
SNAPSHOT_COST_SHARE = 20  # snapshots at least this many times their own duration apart
BURST_S = 0.002  # text deltas closer together than this share one offset mark
INLINE_DATA_BYTES = 64 * 1024  # larger `data` goes to results/<step>.data.json, not into run.json
RESULTS_DIR = "results"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,100}")


@dataclass(slots=True)
class _OpenItem:
    """An item of an itemized step between its start and its end: what its line will say."""

    parent: str
    model: str | None
    started_at: float
    attempts: int = 1
    reason: str = ""
    text: list[str] = field(default_factory=list)
    turn_start: int = 0  # where the current turn's text begins: a failed attempt's is dropped


@dataclass
class LiveCost:
    """A running step's cost as far as known: its finished calls, plus the call in flight as last
    reported by usage and, for the text streamed since, one token per chunk at the output price."""

    model: str = ""
    done: float = 0.0
    usage: Usage | None = None
    chunks: int = 0

    def call_usd(self) -> float:
        reported = self.usage.output_tokens if self.usage else 0
        extra = max(0, self.chunks - reported) * price_for(self.model or "default").output / 1_000_000
        return (self.usage.cost_usd if self.usage else 0.0) + extra

    def end_call(self) -> None:
        self.done += self.call_usd()
        self.usage, self.chunks = None, 0

    def usd(self) -> float:
        return self.done + self.call_usd()


def write_json_atomically(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Compact: json's C encoder is used only without `indent`, about 4x faster (`jq .` pretty-prints it).
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
    # Rename is atomic: a reader (or a process killed mid-write) sees the old or the new file, never
    # half of one. No fsync: it guards only against an OS crash and costs milliseconds per snapshot.
    os.replace(tmp, path)


def safe_file_name(step_id: str) -> str:
    """A file name for a step id: the id itself when harmless, else a cleaned one made unique by a hash."""
    if _SAFE_NAME.fullmatch(step_id):
        return step_id
    cleaned = re.sub(r"[^A-Za-z0-9._-]", "_", step_id)[:80].lstrip(".") or "step"
    return f"{cleaned}-{hashlib.sha256(step_id.encode()).hexdigest()[:8]}"


def items_file_name(step_id: str) -> str:
    """Where an itemized step's items are recorded, relative to the run folder."""
    return f"{RESULTS_DIR}/{safe_file_name(step_id)}.items.jsonl"


def new_items_entry(count: int) -> dict[str, Any]:
    """An itemized step's `items` in run.json: its file and how many items ended how (the rest pending)."""
    return {"file": None, "count": count, "succeeded": 0, "failed": 0, "interrupted": 0, "skipped": 0}


def save_result(
    run_dir: Path, result: StepResult, fingerprint: str | None = None, reused_from: str | None = None
) -> StepSaved:
    """Write a finished step's text (and large data) under `results/`; the event says where."""
    results = run_dir / RESULTS_DIR
    name = safe_file_name(result.step_id)
    text_file = data_file = None
    if result.spool is not None:
        with contextlib.suppress(OSError):
            result.spool.copy_to(results / f"{name}.txt")
            text_file = f"{RESULTS_DIR}/{name}.txt"
    # An itemized step's data is its items, in its items file already.
    data = None if result.itemized else result.data
    if data is not None:
        encoded = json.dumps(data, ensure_ascii=False, default=str)
        if len(encoded) > INLINE_DATA_BYTES:
            with contextlib.suppress(OSError):
                results.mkdir(parents=True, exist_ok=True)
                (results / f"{name}.data.json").write_text(encoded + "\n", encoding="utf-8")
                data_file = f"{RESULTS_DIR}/{name}.data.json"
            data = None
    return StepSaved(result.step_id, text_file, data, data_file, fingerprint, reused_from)


class RunRecorder:
    """Keeps `run_dir/run.json` and `run_dir/events.jsonl` current from the event stream."""

    def __init__(
        self,
        run_dir: Path,
        workflow_file: str | None = None,
        *,
        resumed_from: str | None = None,
        vars: dict[str, str] | None = None,
    ) -> None:
        self.run_dir = run_dir
        self.state: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "run_id": run_dir.name,
            "workflow": None,
            "workflow_file": str(Path(workflow_file).resolve()) if workflow_file else None,
            "vars": dict(vars or {}),
            "resumed_from": resumed_from,
            "status": "running",
            "reason": "",
            "provider": None,
            "simulated": None,
            "budget_usd": None,
            "started_at": time.time(),
            "finished_at": None,
            "duration_s": None,
            "cost_usd": 0.0,
            "steps": {},
        }
        # Events with the time they were published, stamped by a bus listener (O(1) per event); the
        # record's own task takes them in batches, at most RECORD_LATENCY_S after the first arrived.
        self._pending: list[tuple[float, Event]] = []
        self._wake = asyncio.Event()
        self._timer: asyncio.TimerHandle | None = None
        self._closed = False
        self._events: TextIO | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_snapshot = 0.0
        self._live_costs: dict[str, LiveCost] = {}
        self._snapshot_s = 0.0  # how long the last snapshot took
        self._dirty = False  # something important is not in run.json yet
        self._items: dict[str, TextIO | None] = {}  # itemized steps' items files (None: cannot be written)
        self._open_items: dict[str, _OpenItem] = {}  # their items that started and have not ended

    def start(self, bus: EventBus) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._events = open(self.run_dir / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.snapshot()
        bus.listen(self._stamp)
        self._task = asyncio.create_task(self._run(), name="run-record")

    def _stamp(self, event: Event) -> None:
        if self._closed:
            return
        self._pending.append((time.time(), event))
        if self._timer is None and not self._wake.is_set():
            self._timer = asyncio.get_running_loop().call_later(RECORD_LATENCY_S, self._ring)

    def _ring(self) -> None:
        self._timer = None
        self._wake.set()

    def _take(self) -> list[tuple[float, Event]]:
        batch, self._pending = self._pending, []
        return batch

    async def stop(self) -> None:
        self._closed = True
        self._wake.set()
        if self._task:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while not self._closed:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(SNAPSHOT_EVERY_S):
                        await self._wake.wait()
                self._wake.clear()
                self.record(self._take())
        finally:
            if self._timer is not None:
                self._timer.cancel()
            self.record(self._take())
            self.snapshot()
            self._close_items()
            if self._events:
                self._events.close()
                self._events = None

    def record(self, events: list[tuple[float, Event]]) -> None:
        """Apply and log a batch of stamped events; snapshot run.json when something important happened."""
        lines: list[str] = []
        text_step: str | None = None
        text_start = 0.0
        text_parts: list[str] = []
        marks: list[list[float | int]] = []  # [seconds after text_start, characters] per burst

        def flush_text() -> None:
            if text_parts:
                line: dict[str, Any] = {
                    "ts": round(text_start, 6),
                    "kind": "text",
                    "step_id": text_step,
                    "text": "".join(text_parts),
                    "chunks": len(text_parts),
                }
                if len(marks) > 1:
                    line["offsets"] = [[round(at * 1000, 1), chars] for at, chars in marks]
                lines.append(json.dumps(line, ensure_ascii=False) + "\n")
                text_parts.clear()
                marks.clear()

        important = False
        for stamp, event in events:
            if type(event) is TextDelta:
                if event.step_id != text_step or not text_parts:
                    flush_text()
                    text_step, text_start = event.step_id, stamp
                text_parts.append(event.text)
                at = stamp - text_start
                if marks and at - marks[-1][0] < BURST_S:
                    marks[-1][1] += len(event.text)
                else:
                    marks.append([at, len(event.text)])
                live = self._live_costs.get(event.step_id)
                if live is not None:
                    live.chunks += 1
                elif self._open_items and event.step_id in self._open_items:
                    self._open_items[event.step_id].text.append(event.text)
                continue
            flush_text()
            text_step = None
            if type(event) is not ThinkingDelta:
                line = {"ts": round(stamp, 6), **event_to_dict(event)}
                lines.append(json.dumps(line, ensure_ascii=False, default=str) + "\n")
                important |= self._apply(event, stamp)
        flush_text()
        if self._events and lines:
            self._events.write("".join(lines))
            self._events.flush()
        for out in self._items.values():
            if out is not None:
                with contextlib.suppress(OSError):  # a full disk must not stop the record
                    out.flush()
        self._dirty |= important
        # A large record (a batch step's 100,000 items) is not rewritten more than 1/20 of the time.
        since, spacing = time.monotonic() - self._last_snapshot, SNAPSHOT_COST_SHARE * self._snapshot_s
        if (self._dirty and since >= spacing) or (events and since >= max(SNAPSHOT_EVERY_S, spacing)):
            self.snapshot()

    def _apply(self, event: Event, stamp: float) -> bool:
        steps = self.state["steps"]
        if type(event) is RunStarted:
            self.state.update(
                workflow=event.workflow,
                provider=event.provider,
                simulated=event.simulated,
                budget_usd=event.budget_usd,
            )
            for step_id in event.steps:
                steps.setdefault(step_id, new_step_record(None))
            return True
        if type(event) is RunFinished:
            self.state.update(
                status=event.status,
                reason=event.reason,
                finished_at=stamp,
                cost_usd=event.cost_usd,
                duration_s=event.duration_s,
            )
            return True
        step_id = getattr(event, "step_id", None)
        if step_id is None:
            return False
        item = self._open_items.get(step_id)
        if item is not None or (type(event) is StepStarted and event.parent_id in self._items):
            return self._apply_item(event, stamp, item)
        if type(event) is StepStarted:
            step = steps.setdefault(step_id, new_step_record(event.parent_id))
            step.update(
                status="running",
                type=event.step_type,
                model=event.model or None,
                started_at=stamp,
                parent=event.parent_id,
                attempts=1,
            )
            if event.itemized:
                self._open_items_file(step_id, step, len(event.tasks))
            else:
                for task_id in event.tasks:
                    steps.setdefault(task_id, new_step_record(step_id))
            self._live_costs[step_id] = LiveCost(event.model)
            return True
        step = steps.get(step_id)
        if step is None:
            return False
        live = self._live_costs.get(step_id)
        if live is not None and type(event) in (TurnStarted, Retrying):
            live.end_call()  # a failed attempt counts as far as it went, as the step's meter does
        elif live is not None and type(event) is Usage:
            live.model, live.usage = event.model, event
        if type(event) is StepPhase:
            step["phase"] = event.phase if not event.detail else f"{event.phase}: {event.detail}"
        elif type(event) is Retrying:
            step["attempts"] = event.attempt
        elif type(event) is Interrupted:
            step["reason"] = event.reason
        elif type(event) is BatchProgress:
            # Where a resumed run finds the step's Message Batches: steps.<step>.batches.<batch id>.
            step.setdefault("batches", {})[event.batch_id] = {
                "status": event.status,
                "processing": event.processing,
                "succeeded": event.succeeded,
                "errored": event.errored,
                "canceled": event.canceled,
                "expired": event.expired,
            }
            return True
        elif type(event) is StepFinished:
            metrics = metrics_to_dict(event.metrics)
            step.update(
                status=event.status,
                reason=event.reason,
                error=event.error,
                stop_reason=event.stop_reason,
                finished_at=stamp,
                phase=None,
                usage={"input_tokens": metrics["input_tokens"], "output_tokens": metrics["output_tokens"]},
                cost_usd=metrics["cost_usd"],
                metrics=None if event.status == "skipped" else metrics,
            )
            if event.status == "skipped":
                step["attempts"] = 0
            self._live_costs.pop(step_id, None)
            return True
        elif type(event) is StepSaved:
            step.update(
                text_file=event.text_file,
                data=event.data,
                data_file=event.data_file,
                fingerprint=event.fingerprint,
                reused_from=event.reused_from,
            )
            return True
        return False

    def _open_items_file(self, step_id: str, step: dict[str, Any], count: int) -> None:
        items = step["items"] = new_items_entry(count)
        relative = items_file_name(step_id)
        self._items[step_id] = None
        with contextlib.suppress(OSError):
            (self.run_dir / RESULTS_DIR).mkdir(exist_ok=True)
            # Appended to, never truncated: a step started twice in one run keeps its first items too.
            self._items[step_id] = open(self.run_dir / relative, "a", encoding="utf-8")  # noqa: SIM115
            items["file"] = relative

    def _apply_item(self, event: Event, stamp: float, item: _OpenItem | None) -> bool:
        """An event of an itemized step's item: kept until the item ends, then one line of its file."""
        if type(event) is StepStarted:
            self._open_items[event.step_id] = _OpenItem(event.parent_id or "", event.model or None, stamp)
            return False
        assert item is not None
        if type(event) is TurnStarted:
            item.turn_start = len(item.text)
        elif type(event) is Retrying:
            item.attempts = event.attempt
            del item.text[item.turn_start :]
        elif type(event) is Interrupted:
            item.reason = event.reason
        elif type(event) is StepFinished:
            del self._open_items[event.step_id]
            metrics = metrics_to_dict(event.metrics)
            line = {
                "id": event.step_id,
                "status": event.status,
                "reason": event.reason or item.reason,
                "error": event.error,
                "stop_reason": event.stop_reason,
                "model": item.model,
                "started_at": item.started_at,
                "finished_at": stamp,
                "attempts": 0 if event.status == "skipped" else item.attempts,
                "usage": {"input_tokens": metrics["input_tokens"], "output_tokens": metrics["output_tokens"]},
                "cost_usd": metrics["cost_usd"],
                "metrics": None if event.status == "skipped" else metrics,
                "text": "".join(item.text),
            }
            out = self._items.get(item.parent)
            if out is not None:
                with contextlib.suppress(OSError):
                    out.write(json.dumps(line, ensure_ascii=False, separators=(",", ":")) + "\n")
            parent = self.state["steps"].get(item.parent)
            if parent is not None and event.status in parent["items"]:
                parent["items"][event.status] += 1
            live = self._live_costs.get(item.parent)
            if live is not None:  # the step's cost so far: its finished items'
                live.done += event.metrics.cost_usd
            return True
        return False

    def _close_items(self) -> None:
        for out in self._items.values():
            if out is not None:
                with contextlib.suppress(OSError):
                    out.close()
        self._items.clear()

    def _estimate_costs(self) -> None:
        """Running steps' `cost_usd`, and the run's until it reports its own, from the live estimates."""
        steps = self.state["steps"]
        for step_id, live in self._live_costs.items():
            steps[step_id]["cost_usd"] = round(live.usd(), 6)
        if self.state["finished_at"] is None:
            parents = {step.get("parent") for step in steps.values()}
            self.state["cost_usd"] = round(sum(step.get("cost_usd") or 0.0 for step_id, step in steps.items()
                                               if step_id not in parents), 6)

    def snapshot(self, status: str | None = None, reason: str | None = None) -> None:
        """Write run.json now. `status` overrides the run status (used when the process must exit)."""
        if status is not None:
            # The process is about to end: what was published but not yet taken goes in first.
            self.record(self._take())
            self._closed = True
            for out in self._items.values():
                if out is not None:
                    with contextlib.suppress(OSError):
                        out.flush()
            self.state["status"] = status
            self.state["finished_at"] = self.state["finished_at"] or time.time()
            for step in self.state["steps"].values():
                if step["status"] in ("running", "pending"):
                    step["status"] = "interrupted" if step["status"] == "running" else "skipped"
        if reason is not None:
            self.state["reason"] = reason
        self._estimate_costs()
        started = time.monotonic()
        with contextlib.suppress(OSError):
            write_json_atomically(self.run_dir / "run.json", self.state)
        self._last_snapshot = time.monotonic()
        self._snapshot_s = self._last_snapshot - started
        self._dirty = False


def new_step_record(parent: str | None) -> dict[str, Any]:
    """A step's entry in run.json before it runs; the schema lists every field."""
    return {
        "status": "pending",
        "parent": parent,
        "type": None,
        "model": None,
        "phase": None,
        "reason": "",
        "error": None,
        "stop_reason": None,
        "started_at": None,
        "finished_at": None,
        "attempts": 0,
        "usage": {"input_tokens": 0, "output_tokens": 0},
        "cost_usd": 0.0,
        "metrics": None,
        "text_file": None,
        "data": None,
        "data_file": None,
        "fingerprint": None,
        "reused_from": None,
    }
