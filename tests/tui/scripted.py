"""A fake run handle for deterministic dashboard tests: it publishes a fixed list of events and records
the interrupts it is asked for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Generator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from engine.bus import EventBus
from engine.events import (
    Event,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepMetrics,
    StepPhase,
    StepStarted,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    TurnStarted,
    Usage,
)

RUN_DIR = Path("/tmp/pipeline-test/outputs/20250101-120000-abcd")


@dataclass
class ScriptedResult:
    status: str
    reason: str = ""

    @property
    def exit_code(self) -> int:
        return {"succeeded": 0, "failed": 1}.get(self.status, 130)


@dataclass
class ScriptedRun:
    """Publishes `events` once the dashboard has subscribed; finishes when a RunFinished is published."""

    events: list[Event]
    run_dir: Path = RUN_DIR
    bus: EventBus = field(default_factory=EventBus)
    interrupts: list[tuple[str, str]] = field(default_factory=list)
    interrupted_all: list[str] = field(default_factory=list)
    # When set, an interrupt publishes what the engine would (Interrupted, StepFinished, RunFinished).
    obey_interrupts: bool = True
    _done: asyncio.Future[ScriptedResult] | None = None
    _running: set[str] = field(default_factory=set)
    # Steps of the run not started yet: interrupt_all finishes them as skipped, as the engine does.
    _pending: list[str] = field(default_factory=list)

    @asynccontextmanager
    async def open(self) -> AsyncIterator[ScriptedRun]:
        self._done = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_soon(self.publish, self.events)
        yield self

    def publish(self, events: Iterable[Event]) -> None:
        for event in events:
            if isinstance(event, RunStarted):
                self._pending = list(event.steps)
            elif isinstance(event, StepStarted):
                self._running.add(event.step_id)
                if event.step_id in self._pending:
                    self._pending.remove(event.step_id)
            elif isinstance(event, StepFinished):
                self._running.discard(event.step_id)
            self.bus.publish(event)
            if isinstance(event, RunFinished) and self._done is not None and not self._done.done():
                self._done.set_result(ScriptedResult(event.status, event.reason))

    def interrupt(self, step_id: str, reason: str = "interrupted by user") -> bool:
        self.interrupts.append((step_id, reason))
        if self.obey_interrupts and step_id in self._running:
            self.publish(stop(step_id, reason))
        return True

    def interrupt_all(self, reason: str = "interrupted by user") -> None:
        self.interrupted_all.append(reason)
        if self.obey_interrupts:
            for step_id in sorted(self._running):
                self.publish(stop(step_id, reason))
            self.publish([StepFinished(step_id, "skipped", reason) for step_id in self._pending])
            self.publish([RunFinished("run", "interrupted", reason, 0.0123, 4.2)])

    def __await__(self) -> Generator[Any, None, ScriptedResult]:
        assert self._done is not None
        return self._done.__await__()


def stop(step_id: str, reason: str) -> list[Event]:
    from engine.events import Interrupted

    return [Interrupted(step_id, reason),
            StepFinished(step_id, "interrupted", reason, None, None, StepMetrics(duration_s=1.5))]


# -- building blocks of scripts ---------------------------------------------------------------------

ESSAY = (
    "Rivers shape the land they cross. Over thousands of years a river carves valleys, "
    "deposits silt on its banks and builds deltas where it meets the sea.\n\n"
    "Three things decide how fast a river works: the slope of its bed, the volume of water it "
    "carries and the hardness of the rock beneath it.\n"
)

MARKDOWN_ANSWER = (
    "# Release notes\n\n"
    "The new **streaming** engine brings:\n\n"
    "- token-level panes\n"
    "- interrupt keys\n"
    "- exact cost tracking\n\n"
    "```python\nprint('hello')\n```\n"
)


def run_started(*steps: str, budget: float | None = 1.0) -> RunStarted:
    return RunStarted("20250101-120000-abcd", "demo", "simulator", True, str(RUN_DIR), steps, budget)


def words(step_id: str, text: str) -> list[Event]:
    """The text as the engine streams it: one delta per word, about one token each."""
    parts = text.split(" ")
    return [TextDelta(step_id, part + (" " if i < len(parts) - 1 else "")) for i, part in enumerate(parts)]


def streaming(step_id: str, text: str, parent: str | None = None,
              model: str = "claude-sonnet-4-5") -> list[Event]:
    return [
        StepStarted(step_id, "claude", model, parent),
        StepPhase(step_id, "connecting"),
        TurnStarted(step_id, 1),
        StepPhase(step_id, "streaming"),
        Usage(step_id, model, 120, 1, cost_usd=0.0004),
        *words(step_id, text),
    ]


def finished(step_id: str, status: str = "succeeded", reason: str = "", error: str | None = None,
             output_tokens: int = 64) -> list[Event]:
    metrics = StepMetrics(ttft_s=0.4, duration_s=3.2, output_tokens_per_s=20.0, chunks=64, bytes=300,
                          input_tokens=120, output_tokens=output_tokens, cost_usd=0.0012)
    stop_reason = "end_turn" if status == "succeeded" else None
    return [StepFinished(step_id, status, reason, stop_reason, error, metrics)]


def tool_use(step_id: str) -> list[Event]:
    return [
        StepPhase(step_id, "tool_input", "Read"),
        ToolCall(step_id, "tu_1", "Read", {"path": "notes.md"}),
        StepPhase(step_id, "tool", "Read"),
        ToolResult(step_id, "tu_1", "Read", "# Notes\nship on friday\n", False),
        TurnStarted(step_id, 2),
    ]


def thinking(step_id: str, text: str) -> list[Event]:
    return [StepPhase(step_id, "thinking"), *(ThinkingDelta(step_id, w + " ") for w in text.split())]


def retry(step_id: str) -> list[Event]:
    return [Retrying(step_id, 2, 4, 1.5, "overloaded: Overloaded"),
            StepPhase(step_id, "backing_off", "retry in 1.5 s, attempt 2/4")]
