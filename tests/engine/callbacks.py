"""Callbacks the tests name in workflows (`tests.engine.callbacks:record`); they record what they got."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

calls: list[tuple[float, list[str], dict[str, Any]]] = []
completions: list[tuple[dict[str, Any], dict[str, Any]]] = []
resets: list[dict[str, Any]] = []
received: list[str] = []  # the text as a callback keeping its word holds it (see collect / take_back)


def reset() -> None:
    calls.clear()
    completions.clear()
    resets.clear()
    received.clear()


def collect(chunks: list[str], context: dict[str, Any]) -> None:
    received.append("".join(chunks))


def take_back(notice: dict[str, Any], context: dict[str, Any]) -> None:
    """The on_reset contract: drop the last `discard_chars` characters received."""
    resets.append(notice)
    text = "".join(received)
    received[:] = [text[: len(text) - notice["discard_chars"]]]


def record(chunks: list[str], context: dict[str, Any]) -> None:
    calls.append((time.monotonic(), chunks, context))


async def record_async(chunks: list[str], context: dict[str, Any]) -> None:
    await asyncio.sleep(0)
    calls.append((time.monotonic(), chunks, context))


def slow(chunks: list[str], context: dict[str, Any]) -> None:
    time.sleep(0.3)  # a handler far slower than the stream
    calls.append((time.monotonic(), chunks, context))


def done(result: dict[str, Any], context: dict[str, Any]) -> None:
    completions.append((result, context))


def stuck_on_complete(result: dict[str, Any], context: dict[str, Any]) -> None:
    time.sleep(60)  # a handler that will not finish: only a forced quit ends the run


def explode(chunks: list[str], context: dict[str, Any]) -> None:
    raise RuntimeError("this callback is broken")


async def block_the_loop(chunks: list[str], context: dict[str, Any]) -> None:
    """An async callback that blocks the event loop itself (only the signal watchdog helps), once the
    step's stream file shows text, so a test knows the run is under way."""
    stream = Path(context["run_dir"]) / "streams" / f"{context['step_id']}.txt"
    if stream.exists() and stream.stat().st_size > 200:
        (Path(context["run_dir"]) / "blocking").touch()  # the test signals only once the loop is stuck
        time.sleep(60)
