"""Replaying a recorded run: its events.jsonl published again on a bus, with the original timing.

`ReplayRun` looks like a run handle (a bus, interrupt, await for the result), so the dashboard and the
console handlers take a replay exactly as they take a live run: same events, same order, same
interleaving, at the recorded offsets (or `speed` times faster), and no API call. Text lines are split
back into the bursts their `offsets` name, so text arrives as it did.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Generator, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, get_args

from engine.bus import EventBus
from engine.events import (
    Event,
    RunFinished,
    RunStarted,
    StepFinished,
    StepMetrics,
    StepStarted,
    TextDelta,
)
from engine.handlers import HandlerContext, HandlerEnvironment, HandlerPump, build_handler
from engine.history import RecordError
from engine.results import RunResult, StepResult

EVENT_TYPES: dict[str, type[Any]] = {
    f.default: cls  # type: ignore[misc]
    for cls in get_args(Event)
    for f in fields(cls)
    if f.name == "kind"
}
_TUPLES = {"steps", "tasks"}  # list in JSON, tuple in the event


@dataclass(frozen=True)
class Recorded:
    """One event to publish and when: seconds after the run's first event."""

    offset_s: float
    event: Event


def _event(line: dict[str, Any]) -> Event | None:
    cls = EVENT_TYPES.get(line.get("kind", ""))
    if cls is None:
        return None
    names = {f.name for f in fields(cls) if f.init}
    values = {k: v for k, v in line.items() if k in names}
    for key in _TUPLES & values.keys():
        values[key] = tuple(values[key] or ())
    if cls is StepFinished and isinstance(values.get("metrics"), dict):
        known = {f.name for f in fields(StepMetrics)}
        values["metrics"] = StepMetrics(**{k: v for k, v in values["metrics"].items() if k in known})
    try:
        return cls(**values)  # type: ignore[no-any-return]
    except TypeError:
        return None


def read_events(run_dir: Path) -> list[Recorded]:
    """The run's recorded events in order; a torn last line (a killed process) is left out."""
    path = run_dir / "events.jsonl"
    try:
        raw = path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        raise RecordError(f"{run_dir}: no events.jsonl to replay") from None
    except OSError as exc:
        raise RecordError(f"{path}: cannot be read: {exc.strerror or exc}") from None
    recorded: list[Recorded] = []
    start: float | None = None
    for text in raw.splitlines():
        try:
            line = json.loads(text)
            ts = float(line["ts"])
        except (ValueError, KeyError, TypeError):
            continue
        if not isinstance(line, dict):
            continue
        start = ts if start is None else start
        at = ts - start
        if line.get("kind") == "text" and isinstance(line.get("text"), str):
            step_id, whole = str(line.get("step_id")), line["text"]
            cut = 0
            for mark in line.get("offsets") or [[0, len(whole)]]:
                piece = whole[cut : cut + int(mark[1])]
                cut += int(mark[1])
                if piece:
                    recorded.append(Recorded(at + float(mark[0]) / 1000, TextDelta(step_id, piece)))
            if cut < len(whole):
                recorded.append(Recorded(at, TextDelta(step_id, whole[cut:])))
            continue
        event = _event(line)
        if event is not None:
            recorded.append(Recorded(at, event))
    if not recorded:
        raise RecordError(f"{path}: no events to replay")
    return recorded


@dataclass
class ReplayRun:
    """A run handle that plays recorded events. `handlers` are started per step, as a run would."""

    events: Sequence[Recorded]
    run_dir: Path  # where the replay's handlers write (streams/ of a file handler)
    speed: float = 1.0
    handlers: tuple[str, ...] = ()
    handler_env: HandlerEnvironment = field(default_factory=HandlerEnvironment)
    bus: EventBus = field(default_factory=EventBus)
    simulated: bool = True
    # How late each event was published against its (scaled) recorded offset, in seconds.
    lateness: list[float] = field(default_factory=list)
    _task: asyncio.Task[RunResult] | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def load(cls, recorded_dir: Path, **options: Any) -> ReplayRun:
        return cls(read_events(recorded_dir), options.pop("run_dir", recorded_dir), **options)

    @property
    def run_id(self) -> str:
        first = self.events[0].event
        return first.run_id if isinstance(first, RunStarted) else self.run_dir.name

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[ReplayRun]:
        """Yields the handle at once; playing starts on the next turn of the loop, once subscribed."""
        self._task = asyncio.create_task(self._play(), name="replay")
        try:
            yield self
        finally:
            if not self._task.done():
                self._stop.set()
                with contextlib.suppress(asyncio.CancelledError):
                    await self._task

    def interrupt(self, step_id: str, reason: str = "") -> bool:
        return False  # a replay shows what happened; it cannot change it

    def interrupt_all(self, reason: str = "") -> None:
        self._stop.set()

    def record_forced_quit(self, reason: str) -> None:
        """Nothing to keep consistent: a replay writes no record."""

    def __await__(self) -> Generator[Any, None, RunResult]:
        assert self._task is not None, "open() the replay first"
        return self._task.__await__()

    async def _play(self) -> RunResult:
        await asyncio.sleep(0)
        loop = asyncio.get_running_loop()
        started = loop.time()
        pumps: dict[str, list[HandlerPump]] = {}
        finished: RunFinished | None = None
        results: dict[str, StepResult] = {}
        tasks: dict[str, StepResult] = {}
        parents: dict[str, str | None] = {}
        workflow = ""
        try:
            for recorded in self.events:
                due = started + recorded.offset_s / self.speed
                if due > loop.time():
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout_at(due):
                            await self._stop.wait()
                if self._stop.is_set():
                    break
                event = recorded.event
                if isinstance(event, RunStarted):
                    workflow = event.workflow
                elif isinstance(event, StepStarted):
                    parents[event.step_id] = event.parent_id
                    # A parallel or batch step's own id streams nothing: its tasks have the handlers.
                    if self.handlers and not event.tasks:
                        pumps[event.step_id] = self._start_handlers(event, workflow)
                self.lateness.append(loop.time() - due)
                if not isinstance(event, StepFinished):
                    self.bus.publish(event)
                    finished = event if isinstance(event, RunFinished) else finished
                    continue
                # As in a run: the step's handlers deliver what they have, then see its end and close.
                step_pumps = pumps.pop(event.step_id, [])
                await asyncio.gather(*(pump.drain() for pump in step_pumps))
                self.bus.publish(event)
                await asyncio.gather(*(pump.close(event) for pump in step_pumps))
                target = tasks if parents.get(event.step_id) else results
                target[event.step_id] = StepResult(
                    event.step_id, event.status, event.reason, event.stop_reason, event.error, event.metrics
                )
        finally:
            for step_pumps in pumps.values():  # steps the record never saw end (a forced quit)
                await asyncio.gather(*(pump.drain() for pump in step_pumps))
                await asyncio.gather(*(pump.close(None) for pump in step_pumps))
        if finished is None:  # stopped early, or the record ends before the run did (a forced quit)
            finished = RunFinished(self.run_id, "interrupted", "replay ended before the run did")
            self.bus.publish(finished)
        return RunResult(
            finished.run_id,
            self.run_dir,
            finished.status,
            finished.reason,
            results,
            tasks,
            finished.cost_usd,
            finished.duration_s,
            "user" if finished.status == "interrupted" else None,
        )

    def _start_handlers(self, started: StepStarted, workflow: str) -> list[HandlerPump]:
        step_id, is_task = started.step_id, started.parent_id is not None
        context = HandlerContext(self.run_id, self.run_dir, workflow, step_id, started.step_type, is_task)
        step_pumps = []
        for name in self.handlers:
            handler = build_handler(name, context, {}, self.handler_env)
            if handler is not None:
                pump = HandlerPump(handler, 1, 100)
                pump.start(self.bus, started.step_id)
                step_pumps.append(pump)
        return step_pumps
