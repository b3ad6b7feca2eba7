"""Per-step bookkeeping on the hot path: metrics, `stop_on` patterns, idle tracking and the run budget.

`on_text` runs once per text delta, so it does O(1) work plus one regex search over a short window
(only when `stop_on` is set); that window keeps the tail of earlier chunks so matches that span
chunk boundaries are found. The patterns are RE2 (`engine.linear_regex`): the search is linear in the
window whatever the pattern, so no pattern can stall the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable, Sequence

from engine.events import StepMetrics, Usage
from engine.linear_regex import compile_linear
from engine.pricing import cost_usd, price_for

STOP_WINDOW_CHARS = 512  # stop_on matches up to this long are found across chunk boundaries
BUDGET_CHECK_EVERY = 32  # text deltas between live budget checks


class StopRequested(Exception):
    """The step must stop now (a `stop_on` pattern matched); `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RunBudget:
    """The run's spending limit, checked live while streaming; `on_exceeded` is called once."""

    def __init__(self, limit_usd: float | None, on_exceeded: Callable[[str], None]) -> None:
        self.limit_usd = limit_usd
        self._on_exceeded = on_exceeded
        self._meters: list[StepMeter] = []
        self.exceeded = False

    def track(self, meter: StepMeter) -> None:
        self._meters.append(meter)

    def spent_usd(self) -> float:
        return sum(meter.live_cost_usd() for meter in self._meters)

    def check(self) -> None:
        if self.limit_usd is None or self.exceeded:
            return
        spent = self.spent_usd()
        if spent >= self.limit_usd:
            self.exceeded = True
            self._on_exceeded(f"budget ${self.limit_usd:.2f} reached (${spent:.4f} spent)")


class StepMeter:
    def __init__(
        self,
        stop_on: Sequence[str] = (),
        budget: RunBudget | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._patterns = [compile_linear(p) for p in stop_on]
        self._tail = ""
        self._budget = budget
        if budget is not None:
            budget.track(self)
        self.started_at = clock()
        self.finished_at: float | None = None
        self.first_text_at: float | None = None
        self.last_activity = self.started_at
        self.chunks = 0
        self.bytes = 0
        self.retries = 0
        self.tool_calls = 0
        self.model = ""
        # Totals of finished model calls, and what the call in flight reported when it started.
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost_usd = 0.0
        self.call_start_usage: Usage | None = None
        self._call_chunks_at_start = 0

    def touch(self) -> None:
        self.last_activity = self._clock()

    def on_text(self, text: str) -> None:
        now = self._clock()
        self.last_activity = now
        if self.first_text_at is None:
            self.first_text_at = now
        self.chunks += 1
        self.bytes += len(text) if text.isascii() else len(text.encode("utf-8"))
        if self._patterns:
            window = self._tail + text
            for pattern in self._patterns:
                match = pattern.search(window)
                if match:
                    raise StopRequested(f"stop_on /{pattern.pattern}/ matched {match.group(0)[:80]!r}")
            self._tail = window[-STOP_WINDOW_CHARS:]
        if self._budget is not None and self.chunks % BUDGET_CHECK_EVERY == 0:
            self._budget.check()

    def begin_call(self, model: str, start_usage: Usage | None = None) -> None:
        self.model = model
        self.call_start_usage = start_usage
        self._call_chunks_at_start = self.chunks

    def end_call(self, usage: Usage) -> Usage:
        """Fold a finished call's usage into the totals."""
        self.input_tokens += usage.input_tokens
        self.output_tokens += usage.output_tokens
        self.cost_usd += usage.cost_usd
        self.call_start_usage = None
        if self._budget is not None:
            self._budget.check()
        return usage

    def abandon_call(self) -> None:
        """A call broke off: count what it cost as far as we know (input + chunks seen so far)."""
        start = self.call_start_usage
        if start is None:
            return
        out = self.chunks - self._call_chunks_at_start
        self.end_call(
            Usage(
                start.step_id,
                start.model,
                start.input_tokens,
                out,
                start.cache_creation_input_tokens,
                start.cache_read_input_tokens,
                cost_usd(
                    start.model,
                    start.input_tokens,
                    out,
                    start.cache_creation_input_tokens,
                    start.cache_read_input_tokens,
                ),
            )
        )

    def live_cost_usd(self) -> float:
        """Cost so far, estimating the call in flight at one token per text delta."""
        start = self.call_start_usage
        if start is None:
            return self.cost_usd
        out = self.chunks - self._call_chunks_at_start
        return self.cost_usd + start.cost_usd + out * price_for(start.model).output / 1_000_000

    def metrics(self) -> StepMetrics:
        end = self.finished_at if self.finished_at is not None else self._clock()
        duration = end - self.started_at
        ttft = self.first_text_at - self.started_at if self.first_text_at is not None else None
        rate = None
        if self.first_text_at is not None and end > self.first_text_at and self.output_tokens:
            rate = self.output_tokens / (end - self.first_text_at)
        return StepMetrics(
            ttft_s=ttft,
            duration_s=duration,
            output_tokens_per_s=rate,
            chunks=self.chunks,
            bytes=self.bytes,
            retries=self.retries,
            tool_calls=self.tool_calls,
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cost_usd=self.live_cost_usd(),
        )


class IdleTimeout(TimeoutError):
    """Nothing arrived for `idle_timeout_seconds` (see `idle_watch`)."""


@contextlib.asynccontextmanager
async def idle_watch(meter: StepMeter, idle: float | None) -> AsyncIterator[None]:
    """Raise `IdleTimeout` in the block once `meter` saw no activity for `idle` seconds (None: never).

    The watchdog checks a timestamp the stream loop refreshes, so per-token work stays O(1).
    """
    if not idle:
        yield
        return
    loop = asyncio.get_running_loop()
    watch = asyncio.timeout(None)

    def check() -> None:
        if loop.time() - meter.last_activity >= idle:
            watch.reschedule(loop.time())
        else:
            handle[0] = loop.call_at(meter.last_activity + idle + 0.01, check)

    meter.touch()
    handle = [loop.call_later(idle, check)]
    try:
        async with watch:
            yield
    except TimeoutError as exc:
        if not watch.expired():
            raise
        raise IdleTimeout(f"idle: no token for {idle:g} s") from exc
    finally:
        handle[0].cancel()
