"""`claude_batch` with `batch_config.api: batches`: the items go to Anthropic's Message Batches API.

Submitted with `client.messages.batches.create` (custom_id = the task id; split to the API's limits
of count and bytes), polled with `retrieve` (backing off; every call under a timeout), and the
results read line by line with `results` (the SDK decodes the JSONL as it arrives: the file is never
whole in memory). Each item's result becomes its task's StepResult, published as a conversation's
would be (its stream handlers, the record, the dashboard), priced at the batch price. Items that
errored or expired are retried per `retry_config`, in a follow-up batch or as streaming calls
(`retry_as: stream`).

Interrupting the step (`x`) cancels its batches on the server and keeps what had completed. The run
stopping (quit, Ctrl+C) leaves them running on the server; their ids are in the record,
`run.json` -> `steps.<step>.batches.<batch id>`, and `resume_batch` picks them up instead of
submitting again.
"""

from __future__ import annotations

import asyncio
import gc
import json
import logging
import re
import time
from collections.abc import AsyncIterator, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic

from engine.context import StepContext
from engine.conversation import request_body
from engine.events import (
    BatchProgress,
    StepFinished,
    StepMetrics,
    StepStarted,
    TextDelta,
    ThinkingDelta,
    Usage,
)
from engine.pricing import cost_usd
from engine.results import StepResult
from engine.retry import AttemptFailed, RetryPolicy, classify
from engine.spool import HeldText
from engine.steps.fanout import Task, TaskResults, finish_parent
from engine.templating import PromptError, assemble_prompt
from engine.workflow.model import ClaudeBatchStep, ClaudeOptions
from engine.workflow.presets import resolve_model

log = logging.getLogger(__name__)

POLL_MAX_INTERVAL_S = 60.0
POLL_GROWTH = 1.5
CALL_TIMEOUT_S = 60.0  # retrieve, cancel, and each line of the results
CREATE_TIMEOUT_S = 600.0  # uploading up to 256 MB
CALL_RETRIES = 5  # a poll that fails (connection, 5xx) is tried again this often before the step fails
CANCEL_WAIT_S = 120.0  # after a cancel, how long the batch may take to end before its items are given up
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
JSON_ESCAPED = re.compile(r'[\x00-\x1f"\\]')  # what JSON writes as more than itself
# Failure classes of an errored item's error type (as `retry.classify` names those of a failed call).
ERROR_CLASSES = {
    "rate_limit_error": "rate_limit",
    "overloaded_error": "overloaded",
    "api_error": "server_error",
    "timeout_error": "timeout",
}


@dataclass(slots=True)
class Item:
    task: Task
    attempts: int = 0  # batches (or streams) it was sent in
    finished: bool = False
    retry: AttemptFailed | None = None  # why it is to be sent again


class BatchesFailed(Exception):
    """A call of the Message Batches API failed for good; the step fails with it."""


class BatchRun:
    """One `claude_batch` step on the Message Batches API."""

    def __init__(self, context: StepContext, step: ClaudeBatchStep, tasks: list[Task]) -> None:
        self.context = context
        self.step = step
        self.config = step.batch_config
        self.client = context.client
        self.items = {task.task_id: Item(task) for task in tasks}
        # What the step's result needs of each finished item, compactly (no StepResult kept per item):
        # the items themselves are recorded, one line each, in results/<step>.items.jsonl.
        self.finished = TaskResults(step.name, list(self.items))
        # The items live as long as the step (100,000 of them, each with its task): out of the cyclic
        # collector, whose full passes over them took a fifth of the step's CPU. Reference counting
        # still frees them (they hold no cycles).
        gc.freeze()
        self.open: dict[str, BatchProgress] = {}  # batches not yet collected, as last seen
        self.started = time.monotonic()
        self.canceling = False
        self._bases: dict[int, dict[str, Any]] = {}  # request params but the messages, by options
        self._no_handlers: set[int] = set()  # options whose stream handlers this run leaves out

    # -- the step -------------------------------------------------------------------------------------

    async def run(self, resume: Sequence[str] = ()) -> StepResult:
        context, step = self.context, self.step
        ids = tuple(f"{step.name}.{task_id}" for task_id in self.items)
        context.publish(
            StepStarted(step.name, step.type, resolve_model(step.claude_options.model), None, ids, True)
        )
        bad = next((i for i in self.items if not CUSTOM_ID.fullmatch(i)), None)
        tools = next((i.task.task_id for i in self.items.values() if i.task.options.allowed_tools), None)
        if bad is not None:
            return await self._fail(
                f"task id {bad!r} cannot be a batch custom_id (1 to 64 of a-z, 0-9, _, -)"
            )
        if tools is not None:
            return await self._fail(
                f"task {tools} has tools: api: batches sends one request per item (no tool loop)"
            )
        try:
            await context.interruptible(self._drive(resume))
        except BatchesFailed as exc:
            return await self._fail(str(exc))
        return await self._gather()

    async def _drive(self, resume: Sequence[str]) -> None:
        try:
            if resume:
                for batch_id in resume:
                    batch = await self._call(self.client.messages.batches.retrieve, batch_id, missing_ok=True)
                    if batch is None:  # gone (another simulator, or deleted): its items go again
                        log.warning(
                            "step %s: batch %s is not on the server any more", self.step.name, batch_id
                        )
                        continue
                    self._progress(batch)
            else:
                await self._submit(list(self.items.values()))
            while True:
                await self._collect_all()
                unsent = [i for i in self.items.values() if not i.finished and i.retry is None]
                for item in unsent:  # not in any batch read (a resumed run stopped mid-submission)
                    item.retry = AttemptFailed("connection", "not in any batch")
                again = [i for i in self.items.values() if not i.finished]
                if not again:
                    return
                if self.config.retry_as == "stream":
                    await self._stream(again)
                    return
                await asyncio.sleep(max(self._delay(item) for item in again))
                await self._submit(again)
        except asyncio.CancelledError:
            current = asyncio.current_task()
            if current is not None:
                current.uncancel()
            await self._stopped()

    async def _stopped(self) -> None:
        """Interrupted: the step alone (cancel the batches, keep what completed), or the run (leave them)."""
        request = self.context.stop_request()
        reason = request.reason if request else "interrupted"
        if self.context.run_stopping() is None and self.open:
            self.canceling = True
            try:
                async with asyncio.timeout(CANCEL_WAIT_S):
                    for batch_id in list(self.open):
                        self._progress(await self._call(self.client.messages.batches.cancel, batch_id))
                    await self._collect_all()
            except (TimeoutError, asyncio.CancelledError, BatchesFailed) as exc:
                log.warning("step %s: cancelling its batches did not finish: %s", self.step.name, exc)
        else:
            left = ", ".join(self.open)
            reason = f"{reason}; batch {left} left running on the server" if left else reason
        for item in self.items.values():
            if not item.finished:
                await self._finish(item, "interrupted", reason, by=request.by if request else "user")

    # -- submitting -----------------------------------------------------------------------------------

    async def _submit(self, items: list[Item]) -> None:
        async for chunk in self._chunks(items):
            for item, _ in chunk:
                item.attempts += 1
                item.retry = None
            batch = await self._call(
                self.client.messages.batches.create,
                requests=self._requests(chunk),
                timeout=CREATE_TIMEOUT_S,
                deadline=CREATE_TIMEOUT_S,
            )
            self._progress(batch)

    async def _chunks(self, items: list[Item]) -> AsyncIterator[list[tuple[Item, str]]]:
        """Items with their prompt text, in runs that fit the batch limits of count and bytes."""
        limit_n, limit_bytes = self.config.max_batch_requests, self.config.max_batch_bytes
        fixed: dict[int, int] = {}  # JSON bytes of a request besides its id and prompt, by options
        chunk: list[tuple[Item, str]] = []
        size = len(b'{"requests":[]}')
        for item in items:
            try:
                text = await assemble_prompt(item.task.prompt, item.task.scope)
            except PromptError as exc:
                item.finished = True
                self._finish_now(item, "failed", "prompt", str(exc))
                continue
            options = item.task.options
            base = fixed.get(id(options))
            if base is None:
                base = fixed[id(options)] = _json_bytes(
                    {"custom_id": "", "params": self._params(options, "")}
                )
            if text.isascii() and not JSON_ESCAPED.search(text):  # most prompts: no encoding needed
                text_bytes = len(text) + 2
            else:
                encoded = json.dumps(text, ensure_ascii=False)
                text_bytes = len(encoded) if encoded.isascii() else len(encoded.encode())
            grows = base + len(item.task.task_id) + 1 + text_bytes
            if chunk and (len(chunk) >= limit_n or size + grows > limit_bytes):
                yield chunk
                chunk, size = [], len(b'{"requests":[]}')
            chunk.append((item, text))
            size += grows
        if chunk:
            yield chunk

    def _params(self, options: ClaudeOptions, text: str) -> dict[str, Any]:
        base = self._bases.get(id(options))
        if base is None:  # the same for every item with these options: built once
            base = self._bases[id(options)] = request_body(options, [])
        return {**base, "messages": [{"role": "user", "content": text}]}

    def _requests(self, chunk: list[tuple[Item, str]]) -> Iterator[dict[str, Any]]:
        # A generator: the SDK copies the body as it prepares it, so the requests exist once, not twice.
        for item, text in chunk:
            yield {"custom_id": item.task.task_id, "params": self._params(item.task.options, text)}

    # -- polling and collecting -----------------------------------------------------------------------

    async def _collect_all(self) -> None:
        """Poll the open batches (backing off) and read each one's results once it has ended."""
        interval = self.config.poll_interval_seconds
        while self.open:
            for batch_id in [b for b, seen in self.open.items() if seen.status == "ended"]:
                await self._read_results(batch_id)
                del self.open[batch_id]
            if not self.open:
                return
            await asyncio.sleep(min(interval, 1.0) if self.canceling else interval)
            interval = min(interval * POLL_GROWTH, POLL_MAX_INTERVAL_S)
            for batch_id in list(self.open):
                self._progress(await self._call(self.client.messages.batches.retrieve, batch_id))

    async def _read_results(self, batch_id: str) -> None:
        """The batch's results file, line by line as it arrives. Read through the SDK's streamed
        response and decoded with `json.loads`: `results()` would build pydantic models of every line,
        which costs more CPU than all the rest of the engine does per item."""
        results = self.client.messages.batches.with_streaming_response.results
        loop = asyncio.get_running_loop()
        watch = asyncio.timeout(loop.time() + CALL_TIMEOUT_S)
        try:
            async with watch, results(batch_id, timeout=CALL_TIMEOUT_S) as response:
                async for line in response.iter_lines():
                    watch.reschedule(loop.time() + CALL_TIMEOUT_S)
                    if not line:
                        continue
                    entry = json.loads(line)
                    item = self.items.get(entry["custom_id"])
                    if item is not None and not item.finished:
                        await self._take(item, entry["result"])
        except Exception as exc:
            raise BatchesFailed(f"reading the results of batch {batch_id}: {classify(exc).message}") from exc

    async def _take(self, item: Item, result: dict[str, Any]) -> None:
        kind = result["type"]
        if kind == "succeeded":
            await self._finish(item, "succeeded", "", message=result["message"])
            return
        if kind == "canceled":
            why = "canceled on the server" + (" (the step was interrupted)" if self.canceling else "")
            await self._finish(item, "interrupted", why, by="user")
            return
        if kind == "expired":
            failure = AttemptFailed(
                "timeout", "expired: the batch ended (24 h) before this item was processed"
            )
        else:
            error = result.get("error", {}).get("error", {})
            kind, message = error.get("type", "api_error"), error.get("message", "")
            failure = AttemptFailed(ERROR_CLASSES.get(kind, "fatal"), f"errored {kind}: {message}")
        policy = RetryPolicy.from_config(item.task.options.retry_config)
        if not self.canceling and policy.should_retry(failure, item.attempts):
            item.retry = failure
            return
        await self._finish(item, "failed", failure.failure, error=failure.message)

    def _delay(self, item: Item) -> float:
        policy = RetryPolicy.from_config(item.task.options.retry_config)
        retry = item.retry
        return policy.delay_s(item.attempts, retry.retry_after if retry else None)

    def _progress(self, batch: Any) -> None:
        counts = batch.request_counts
        seen = BatchProgress(
            self.step.name,
            batch.id,
            batch.processing_status,
            counts.processing,
            counts.succeeded,
            counts.errored,
            counts.canceled,
            counts.expired,
        )
        if self.open.get(batch.id) != seen:
            self.context.publish(seen)
        self.open[batch.id] = seen

    async def _call(
        self,
        method: Any,
        *args: Any,
        deadline: float = CALL_TIMEOUT_S,
        missing_ok: bool = False,
        **kwargs: Any,
    ) -> Any:
        """One API call under a deadline, tried again (backing off) when the failure is worth it."""
        policy = RetryPolicy(max_retries=CALL_RETRIES)
        attempt = 1
        while True:
            try:
                async with asyncio.timeout(deadline):
                    return await method(*args, **kwargs)
            except anthropic.NotFoundError as exc:
                if missing_ok:
                    return None
                raise BatchesFailed(f"{method.__name__}: {classify(exc).message}") from exc
            except Exception as exc:
                failure = classify(
                    exc if not isinstance(exc, TimeoutError) else AttemptFailed("timeout", "no answer")
                )
                if not policy.should_retry(failure, attempt) or "requests" in kwargs:
                    # A create is not repeated: the first one may have been accepted after all.
                    raise BatchesFailed(f"{method.__name__}: {failure.message}") from exc
                await asyncio.sleep(policy.delay_s(attempt, failure.retry_after))
                attempt += 1

    # -- retrying as streams --------------------------------------------------------------------------

    async def _stream(self, items: list[Item]) -> None:
        slots = asyncio.Semaphore(self.config.max_parallel)

        async def one(item: Item) -> None:
            async with slots:
                task = item.task
                result = await self.context.converse(
                    task.options, task.prompt, task_id=task.task_id, scope=task.scope
                )
            item.finished = True
            self.finished.add(result)

        await asyncio.gather(*(one(item) for item in items))

    # -- results --------------------------------------------------------------------------------------

    async def _finish(
        self,
        item: Item,
        status: str,
        reason: str,
        error: str | None = None,
        message: Any = None,
        by: str | None = None,
    ) -> None:
        """The item's end as a conversation would publish it: its handlers get the answer, then its end."""
        item.finished = True
        context, task = self.context, item.task
        pumps, problem = self._handlers(task)
        result = self._publish(item, status, reason, error, message, by, problem)
        if pumps:
            await asyncio.gather(*(pump.drain() for pump in pumps))
            failure = next((pump.failure for pump in pumps if pump.failure), None)
            if failure is not None and result.status != "failed":
                result.status, result.reason, result.error, result.stopped_by = (
                    "failed",
                    "handler",
                    failure,
                    None,
                )
        finished = StepFinished(
            result.step_id, result.status, result.reason, result.stop_reason, result.error, result.metrics
        )  # type: ignore[arg-type]
        context.publish(finished)
        self.finished.add(result)
        if pumps:
            await asyncio.gather(*(pump.close(finished) for pump in pumps))

    def _handlers(self, task: Task) -> tuple[list[Any], str | None]:
        """The task's stream handlers, started; remembered when its options make none in this run (the
        console under the dashboard), so 100,000 items do not look them up 100,000 times."""
        options = task.options
        if id(options) in self._no_handlers:
            return [], None
        pumps, problem = self.context.start_handlers(task.task_id, options)
        if not pumps and problem is None:
            self._no_handlers.add(id(options))
        return pumps, problem

    def _finish_now(self, item: Item, status: str, reason: str, error: str | None) -> None:
        """An item that ends before it is sent (its prompt cannot be assembled): no handlers to feed."""
        result = self._publish(item, status, reason, error, None, None, None)
        self.context.publish(StepFinished(result.step_id, result.status, reason, None, error, result.metrics))  # type: ignore[arg-type]
        self.finished.add(result)

    def _publish(
        self,
        item: Item,
        status: str,
        reason: str,
        error: str | None,
        message: Any,
        by: str | None,
        handler_problem: str | None,
    ) -> StepResult:
        context, step_id = self.context, f"{self.step.name}.{item.task.task_id}"
        model = resolve_model(item.task.options.model)
        context.publish(StepStarted(step_id, self.step.type, model, self.step.name))
        duration, retries = time.monotonic() - self.started, max(0, item.attempts - 1)
        metrics = None
        stop_reason = None
        texts: list[str] = []
        if handler_problem is not None:
            status, reason, error = "failed", "handler", handler_problem
        elif message is not None:
            model, stop_reason = message.get("model", model), message.get("stop_reason")
            for block in message.get("content", ()):
                kind = block.get("type")
                if kind == "text" and block.get("text"):
                    context.publish(TextDelta(step_id, block["text"]))
                    texts.append(block["text"])
                elif kind == "thinking":
                    context.publish(ThinkingDelta(step_id, block.get("thinking", "")))
            usage = _usage(step_id, model, message.get("usage") or {})
            context.publish(usage)
            size = sum(len(t) if t.isascii() else len(t.encode()) for t in texts)
            metrics = StepMetrics(
                duration_s=duration,
                chunks=len(texts),
                bytes=size,
                retries=retries,
                input_tokens=usage.input_tokens,
                output_tokens=usage.output_tokens,
                cost_usd=usage.cost_usd,
            )
        # The answer came whole: held as one string (a TextSpool would be a file per item).
        spool = HeldText("".join(texts))
        metrics = metrics or StepMetrics(duration_s=duration, retries=retries)
        return StepResult(step_id, status, reason, stop_reason, error, metrics, None, spool, by)  # type: ignore[arg-type]

    async def _fail(self, why: str) -> StepResult:
        step = self.step
        self.context.publish(StepFinished(step.name, "failed", "batches", None, why))
        return StepResult(step.name, "failed", "batches", error=why, data=self.finished, itemized=True)

    async def _gather(self) -> StepResult:
        return finish_parent(
            self.context,
            self.finished,
            time.monotonic() - self.started,
            self.config.consolidate_results,
            itemized=True,
        )


def _json_bytes(data: Any) -> int:
    return len(json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode())


def _usage(step_id: str, model: str, usage: dict[str, Any]) -> Usage:
    inp, out = usage.get("input_tokens") or 0, usage.get("output_tokens") or 0
    cw, cr = usage.get("cache_creation_input_tokens") or 0, usage.get("cache_read_input_tokens") or 0
    return Usage(step_id, model, inp, out, cw, cr, cost_usd(model, inp, out, cw, cr, batch=True))


async def run_batches(
    context: StepContext, step: ClaudeBatchStep, tasks: list[Task], resume: Sequence[str] = ()
) -> StepResult:
    """Run the step's tasks on the Message Batches API; `resume`: batch ids to pick up, not resubmit."""
    return await BatchRun(context, step, tasks).run(resume)
