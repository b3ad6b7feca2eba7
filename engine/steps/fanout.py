"""Running many conversations of one step at once (parallel_claude, claude_batch).

Each task is an ordinary streamed conversation with its own step id (`step.task`), handlers and
retries, under a concurrency limit. The parent step's result gathers the tasks' results.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from engine.context import StepContext
from engine.events import StepFinished, StepMetrics, StepStarted
from engine.limits import stream_capacity
from engine.results import StepResult, StoppedBy
from engine.templating import Scope
from engine.workflow.model import ClaudeOptions, PromptPart

log = logging.getLogger(__name__)


_NO_ITEM = object()


@dataclass(slots=True)  # not frozen: a frozen dataclass's __init__ costs 5x more, per batch item
class Task:
    task_id: str  # the task's own name; its step id is "<step>.<task_id>"
    options: ClaudeOptions
    prompt: Sequence[PromptPart]
    base_scope: Scope
    output_to_file: str | None = None
    item: Any = _NO_ITEM  # a batch item: {{item}} in its prompt

    @property
    def scope(self) -> Scope:
        """The step's scope, with this task's item: made when asked, not held (100,000 batch items)."""
        if self.item is _NO_ITEM:
            return self.base_scope
        return self.base_scope.with_item(self.item)


class MetricsSum:
    """A parent step's metrics, summed over its tasks' as they are added."""

    __slots__ = (
        "bytes",
        "chunks",
        "cost",
        "input_tokens",
        "output_tokens",
        "retries",
        "tool_calls",
        "ttft_s",
    )

    def __init__(self) -> None:
        self.ttft_s: float | None = None
        self.chunks = self.bytes = self.retries = self.tool_calls = self.input_tokens = self.output_tokens = 0
        self.cost = 0.0

    def add(self, m: StepMetrics) -> None:
        if m.ttft_s is not None and (self.ttft_s is None or m.ttft_s < self.ttft_s):
            self.ttft_s = m.ttft_s
        self.chunks += m.chunks
        self.bytes += m.bytes
        self.retries += m.retries
        self.tool_calls += m.tool_calls
        self.input_tokens += m.input_tokens
        self.output_tokens += m.output_tokens
        self.cost += m.cost_usd

    def metrics(self, duration_s: float) -> StepMetrics:
        out = self.output_tokens
        return StepMetrics(
            ttft_s=self.ttft_s,
            duration_s=duration_s,
            output_tokens_per_s=out / duration_s if duration_s > 0 and out else None,
            chunks=self.chunks,
            bytes=self.bytes,
            retries=self.retries,
            tool_calls=self.tool_calls,
            input_tokens=self.input_tokens,
            output_tokens=out,
            cost_usd=self.cost,
        )


_STATUSES = ("", "succeeded", "failed", "interrupted", "skipped")
_CODES = {status: code for code, status in enumerate(_STATUSES)}


class TaskResults(Mapping[str, dict[str, str]]):
    """The finished tasks of a parent step, as its `data` shows them (`{task: {status, reason, text}}`,
    in declared order), and what its own result sums up. Held compactly, a string and a byte per task:
    a batch step of 100,000 items keeps no StepResult, metrics or dict per item."""

    def __init__(self, parent: str, task_ids: Sequence[str]) -> None:
        self.parent = parent
        self._ids = list(task_ids)
        self._index = {task_id: n for n, task_id in enumerate(self._ids)}
        self._status = bytearray(len(self._ids))  # 0: not finished
        self._texts: list[str] = [""] * len(self._ids)
        self._reasons: dict[int, str] = {}  # only the non-empty ones (succeeded items have none)
        self._errors: dict[int, str] = {}
        self._stopped_by: dict[int, StoppedBy] = {}
        self._finished = 0
        self.totals = MetricsSum()

    def add(self, result: StepResult) -> None:
        """A task's result (its step id `<parent>.<task>`); added again, it replaces the earlier one."""
        n = self._index[result.step_id.removeprefix(self.parent + ".")]
        if not self._status[n]:
            self._finished += 1
        self._status[n] = _CODES[result.status]
        self._texts[n] = result.text
        for sparse, value in (
            (self._reasons, result.reason),
            (self._errors, result.error),
            (self._stopped_by, result.stopped_by),
        ):
            if value:
                sparse[n] = value  # type: ignore[index]
            else:
                sparse.pop(n, None)
        self.totals.add(result.metrics)

    def __getitem__(self, task_id: str) -> dict[str, str]:
        n = self._index[task_id]
        if not self._status[n]:
            raise KeyError(task_id)
        status, reason = _STATUSES[self._status[n]], self._reasons.get(n, "")
        return {"status": status, "reason": reason, "text": self._texts[n]}

    def __iter__(self) -> Iterator[str]:
        return (task_id for task_id, code in zip(self._ids, self._status, strict=True) if code)

    def __len__(self) -> int:
        return self._finished

    def __repr__(self) -> str:
        return f"TaskResults({self.parent!r}, {self._finished} of {len(self._ids)} finished)"

    def as_dict(self) -> dict[str, dict[str, str]]:
        return {task_id: self[task_id] for task_id in self}

    def counts(self) -> dict[str, int]:
        """How many tasks ended how, and how many have not ended (`pending`)."""
        counts = dict.fromkeys(_STATUSES[1:], 0)
        for code in self._status:
            if code:
                counts[_STATUSES[code]] += 1
        counts["pending"] = len(self._ids) - self._finished
        return counts

    def _finished_indexes(self) -> Iterator[int]:
        return (n for n, code in enumerate(self._status) if code)

    def status(self) -> str:
        codes = set(self._status)
        if _CODES["failed"] in codes:
            return "failed"
        return "interrupted" if _CODES["interrupted"] in codes else "succeeded"

    def troubled_reason(self, limit: int = 500) -> str:
        """The failed and interrupted tasks, in declared order, as the parent's reason (`limit` chars)."""
        parts: list[str] = []
        size = 0
        for n in self._finished_indexes():
            if size > limit:
                break
            if _STATUSES[self._status[n]] in ("failed", "interrupted"):
                part = f"{self.parent}.{self._ids[n]} {_STATUSES[self._status[n]]}: "
                part += self._errors.get(n) or self._reasons.get(n, "")
                parts.append(part)
                size += len(part) + 2
        return "; ".join(parts)[:limit]

    def first_error(self) -> str | None:
        return self._errors[min(self._errors)] if self._errors else None

    def stopped_by(self) -> StoppedBy | None:
        interrupted = [n for n in self._stopped_by if self._status[n] == _CODES["interrupted"]]
        return self._stopped_by[min(interrupted)] if interrupted else None

    def consolidated(self) -> Iterator[str]:
        """The parent's text: each task's, under its name, in declared order (skipped ones left out)."""
        for n in self._finished_indexes():
            if self._status[n] != _CODES["skipped"]:
                yield f"## {self._ids[n]}\n\n{self._texts[n].rstrip()}\n\n"


async def run_tasks(
    context: StepContext,
    tasks: list[Task],
    *,
    max_parallel: int | None,
    fail_fast: bool = False,
    consolidate: bool = True,
) -> StepResult:
    step = context.step
    parent = step.name
    loop = asyncio.get_running_loop()
    started = loop.time()
    ids = [f"{parent}.{task.task_id}" for task in tasks]
    context.publish(StepStarted(parent, step.type, "", None, tuple(ids)))
    wanted = max_parallel or len(tasks)
    capacity = stream_capacity()
    if wanted > capacity:
        log.warning(
            "step %s: %d tasks at once would exceed the open-file limit; running %d at a time "
            "(raise it with `ulimit -n`)",
            parent,
            min(wanted, len(tasks)),
            capacity,
        )
    slots = asyncio.Semaphore(min(wanted, capacity))
    results: dict[str, StepResult] = {}

    async def run_one(task: Task, step_id: str) -> None:
        async with slots:
            stop = context.stop_request(parent)
            if stop is not None:
                results[step_id] = StepResult(step_id, "skipped", stop.reason)
                context.publish(StepFinished(step_id, "skipped", stop.reason))
                return
            result = await context.converse(
                task.options,
                task.prompt,
                task_id=task.task_id,
                scope=task.scope,
                output_to_file=task.output_to_file,
            )
        results[step_id] = result
        context.record_task(result)
        if fail_fast and result.status == "failed":
            context.interrupt(parent, f"fail_fast: {step_id} failed")

    await asyncio.gather(*(run_one(task, step_id) for task, step_id in zip(tasks, ids, strict=True)))
    finished = TaskResults(parent, [task.task_id for task in tasks])
    for step_id in ids:  # tasks finish in any order; records list them as declared
        context.record_task(results[step_id])
        finished.add(results[step_id])
    return finish_parent(context, finished, loop.time() - started, consolidate)


def finish_parent(
    context: StepContext,
    finished: TaskResults,
    duration_s: float,
    consolidate: bool,
    *,
    itemized: bool = False,
) -> StepResult:
    """The parent step's result from its tasks' results, its end published. `itemized`: the tasks are
    recorded in the step's items file, and its `data` stays the compact TaskResults."""
    step = context.step
    parent = step.name
    status = finished.status()
    reason = finished.troubled_reason()
    spool = context.new_spool()
    if consolidate:
        for part in finished.consolidated():
            spool.append(part)
    metrics = finished.totals.metrics(duration_s)
    error = finished.first_error()
    if step.output_to_file:
        problem = context.save_output(spool, step.output_to_file)
        if problem is not None and status != "failed":
            status, reason, error = "failed", "output", problem
    context.publish(StepFinished(parent, status, reason, None, error, metrics))  # type: ignore[arg-type]
    # Who stopped it: whoever stopped its tasks (the user's `x`, or a guard), for the run's exit code.
    data = finished if itemized else finished.as_dict()
    return StepResult(
        parent, status, reason, None, error, metrics, data, spool, finished.stopped_by(), itemized=itemized
    )
