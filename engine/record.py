"""The run record: `run.json` (kept current, written atomically) and `events.jsonl` (every event).

A subscriber like any other. Consecutive text deltas of a step are written as one `text` line per
drain (with the number of chunks it holds), so the log stays proportional to the text, not to tokens.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from engine.bus import EventBus, Inbox
from engine.events import (
    Event,
    Interrupted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepPhase,
    StepStarted,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    Usage,
    event_to_dict,
)

SNAPSHOT_EVERY_S = 1.0
RECORD_LATENCY_S = 0.1


def write_json_atomically(path: Path, data: Any) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    # Compact: json's C encoder is used only without `indent`, about 4x faster (`jq .` pretty-prints it).
    text = json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    with open(tmp, "w", encoding="utf-8") as out:
        out.write(text)
    # Rename is atomic: a reader (or a process killed mid-write) sees the old or the new file, never
    # half of one. No fsync: it guards only against an OS crash and costs milliseconds per snapshot.
    os.replace(tmp, path)


class RunRecorder:
    """Keeps `run_dir/run.json` and `run_dir/events.jsonl` current from the event stream."""

    def __init__(self, run_dir: Path, workflow_file: str | None = None) -> None:
        self.run_dir = run_dir
        # The record is for people and crash recovery, not for milliseconds: batch its wake-ups.
        self.inbox = Inbox(latency=RECORD_LATENCY_S)
        self.state: dict[str, Any] = {
            "run_id": run_dir.name,
            "workflow": None,
            "workflow_file": workflow_file,
            "status": "running",
            "reason": "",
            "provider": None,
            "simulated": None,
            "started_at": time.time(),
            "finished_at": None,
            "cost_usd": 0.0,
            "steps": {},
        }
        self._events: TextIO | None = None
        self._task: asyncio.Task[None] | None = None
        self._last_snapshot = 0.0

    def start(self, bus: EventBus) -> None:
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._events = open(self.run_dir / "events.jsonl", "a", encoding="utf-8")  # noqa: SIM115
        self.snapshot()
        bus.subscribe(self.inbox)
        self._task = asyncio.create_task(self._run(), name="run-record")

    async def stop(self) -> None:
        self.inbox.close()
        if self._task:
            await asyncio.shield(self._task)

    async def _run(self) -> None:
        try:
            while not (self.inbox.closed and self.inbox.empty):
                await self.inbox.wait(SNAPSHOT_EVERY_S)
                self.record(self.inbox.drain())
        finally:
            self.record(self.inbox.drain())
            self.snapshot()
            if self._events:
                self._events.close()

    def record(self, events: list[Event]) -> None:
        """Apply and log a batch of events; snapshot run.json when something important happened."""
        lines: list[str] = []
        text_step: str | None = None
        text_parts: list[str] = []
        important = False

        def flush_text() -> None:
            if text_parts:
                lines.append(
                    self._line(
                        {
                            "kind": "text",
                            "step_id": text_step,
                            "text": "".join(text_parts),
                            "chunks": len(text_parts),
                        }
                    )
                )
                text_parts.clear()

        for event in events:
            if type(event) is TextDelta:
                if event.step_id != text_step:
                    flush_text()
                    text_step = event.step_id
                text_parts.append(event.text)
                step = self.state["steps"].get(event.step_id)
                if step is not None:
                    step["chunks"] += 1
                continue
            flush_text()
            text_step = None
            if type(event) is not ThinkingDelta:
                lines.append(self._line(event_to_dict(event)))
            important |= self._apply(event)
        flush_text()
        if self._events and lines:
            self._events.write("".join(lines))
            self._events.flush()
        now = time.monotonic()
        if important or (events and now - self._last_snapshot >= SNAPSHOT_EVERY_S):
            self.snapshot()

    @staticmethod
    def _line(record: dict[str, Any]) -> str:
        return json.dumps({"ts": round(time.time(), 6), **record}, ensure_ascii=False) + "\n"

    def _apply(self, event: Event) -> bool:
        steps = self.state["steps"]
        if type(event) is RunStarted:
            self.state.update(
                workflow=event.workflow,
                provider=event.provider,
                simulated=event.simulated,
                budget_usd=event.budget_usd,
            )
            for step_id in event.steps:
                steps.setdefault(step_id, self._new_step(None))
            return True
        if type(event) is StepStarted:
            step = steps.setdefault(event.step_id, self._new_step(event.parent_id))
            step.update(
                status="running",
                type=event.step_type,
                model=event.model,
                started_at=time.time(),
                parent=event.parent_id,
            )
            return True
        step = steps.get(getattr(event, "step_id", ""), None)
        if type(event) is RunFinished:
            self.state.update(
                status=event.status,
                reason=event.reason,
                finished_at=time.time(),
                cost_usd=event.cost_usd,
                duration_s=event.duration_s,
            )
            return True
        if step is None:
            return False
        if type(event) is StepPhase:
            step["phase"] = event.phase if not event.detail else f"{event.phase}: {event.detail}"
        elif type(event) is Usage:
            step["last_usage"] = {"input_tokens": event.input_tokens, "output_tokens": event.output_tokens}
        elif type(event) is Retrying:
            step["retries"] += 1
            step["chunks"] = 0
        elif type(event) in (ToolCall, ToolResult):
            step["tool_calls"] += type(event) is ToolCall
        elif type(event) is Interrupted:
            step["reason"] = event.reason
        elif type(event) is StepFinished:
            step.update(
                status=event.status,
                reason=event.reason,
                error=event.error,
                stop_reason=event.stop_reason,
                finished_at=time.time(),
                phase=None,
                metrics=asdict(event.metrics),
            )
            return True
        return False

    @staticmethod
    def _new_step(parent: str | None) -> dict[str, Any]:
        return {
            "status": "pending",
            "parent": parent,
            "phase": None,
            "reason": "",
            "error": None,
            "retries": 0,
            "chunks": 0,
            "tool_calls": 0,
            "metrics": None,
        }

    def snapshot(self, status: str | None = None, reason: str | None = None) -> None:
        """Write run.json now. `status` overrides the run status (used when the process must exit)."""
        if status is not None:
            self.state["status"] = status
            self.state["finished_at"] = self.state["finished_at"] or time.time()
            for step in self.state["steps"].values():
                if step["status"] in ("running", "pending"):
                    step["status"] = "interrupted" if step["status"] == "running" else "skipped"
        if reason is not None:
            self.state["reason"] = reason
        self._last_snapshot = time.monotonic()
        with contextlib.suppress(OSError):
            write_json_atomically(self.run_dir / "run.json", self.state)
