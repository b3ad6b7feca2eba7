"""The Message Batches API of the simulator: `/v1/messages/batches` (create, list, retrieve, cancel,
delete, results as JSONL), with the API's shapes and statuses.

A batch is `in_progress` for the scenario's `batch_processing_ms`, its items finishing one after
another over that time; then it has `ended` and its results can be read. Cancelling makes it
`canceling` for a moment, then `ended`: items done by then keep their result, the rest are
`canceled`. As in the API, each item's `params` is validated while the batch is processed (a bad
one is an `errored` item, not a refused batch), and an item's answer is what `POST /v1/messages`
would answer (not streamed) for the same params. Scenario rules with `batch_result:
errored|expired|canceled` pick items by `custom_id` or `prompt_contains`.
"""

from __future__ import annotations

import asyncio
import json
import re
import secrets
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from engine.simulator.answers import AnswerSettings, compose_reply
from engine.simulator.conversation import RequestedConversation
from engine.simulator.scenario import Rule, SimulatorConfig
from engine.simulator.validation import InvalidRequest, check_messages_request

MAX_BATCH_BYTES = 256 * 1024 * 1024
CUSTOM_ID = re.compile(r"[a-zA-Z0-9_-]{1,64}")
# Cancelling takes this long (or what is left of the processing time, if less) before the batch ends.
CANCELING_S = 0.05
RESULT_LINES_PER_WRITE = 512
EXPIRY = timedelta(hours=24)
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

ReadJson = Callable[[web.Request, int], Awaitable[dict[str, Any]]]


@dataclass
class BatchItem:
    custom_id: str
    params: dict[str, Any]
    # What processing makes of it: succeeded, or what a scenario rule or validation said.
    outcome: str = "succeeded"
    error: tuple[str, str] | None = None  # (error type, message) of an errored item
    settings: AnswerSettings | None = None


@dataclass
class SimulatedBatch:
    id: str
    items: list[BatchItem]
    created_at: datetime
    started: float  # loop time
    processing_s: float
    status: str = "in_progress"
    cancel_initiated_at: datetime | None = None
    canceled_at: float | None = None  # loop time of the cancel request
    ends_at: float = 0.0
    ended_at: datetime | None = None
    results_base: str = ""
    counts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.ends_at = self.started + self.processing_s

    def done_at(self, index: int) -> float:
        """When item `index` is processed: items finish evenly over the processing time."""
        return self.started + self.processing_s * (index + 1) / len(self.items)

    def refresh(self, now: float) -> None:
        if self.status != "ended" and now >= self.ends_at:
            self.status = "ended"
            self.ended_at = self.created_at + timedelta(seconds=self.ends_at - self.started)
            counts = dict.fromkeys(("succeeded", "errored", "canceled", "expired"), 0)
            for index, _item in enumerate(self.items):
                counts[self.result_type(index)] += 1
            self.counts = counts

    def result_type(self, index: int) -> str:
        item = self.items[index]
        if self.canceled_at is not None and self.done_at(index) > self.canceled_at:
            return "canceled"
        return item.outcome

    def cancel(self, now: float) -> None:
        if self.status != "in_progress":
            return
        self.status = "canceling"
        self.canceled_at = now
        self.cancel_initiated_at = self.created_at + timedelta(seconds=now - self.started)
        self.ends_at = min(self.ends_at, now + CANCELING_S)

    def to_json(self) -> dict[str, Any]:
        ended = self.status == "ended"
        counts = self.counts if ended else {"succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": self.status,
            "request_counts": {"processing": 0 if ended else len(self.items), **counts},
            "created_at": _rfc3339(self.created_at),
            "expires_at": _rfc3339(self.created_at + EXPIRY),
            "ended_at": _rfc3339(self.ended_at) if self.ended_at else None,
            "cancel_initiated_at": _rfc3339(self.cancel_initiated_at) if self.cancel_initiated_at else None,
            "archived_at": None,
            "results_url": f"{self.results_base}/v1/messages/batches/{self.id}/results" if ended else None,
        }

    def result_lines(self) -> Iterator[bytes]:
        for index, item in enumerate(self.items):
            kind = self.result_type(index)
            result: dict[str, Any] = {"type": kind}
            if kind == "succeeded":
                conversation = RequestedConversation.from_body(item.params)
                reply = compose_reply(item.params, conversation, item.settings or AnswerSettings())
                result["message"] = reply.to_json()
            elif kind == "errored":
                error_type, message = item.error or ("api_error", "Internal server error")
                result["error"] = {"type": "error", "error": {"type": error_type, "message": message}}
            line = {"custom_id": item.custom_id, "result": result}
            yield json.dumps(line, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


class BatchesApi:
    """The store of batches and the HTTP handlers that serve them."""

    def __init__(self, config: SimulatorConfig, read_json: ReadJson) -> None:
        self.config = config
        self.read_json = read_json
        self.batches: dict[str, SimulatedBatch] = {}

    def add_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1/messages/batches", self.create)
        app.router.add_get("/v1/messages/batches", self.list_batches)
        app.router.add_get("/v1/messages/batches/{batch_id}", self.retrieve)
        app.router.add_delete("/v1/messages/batches/{batch_id}", self.delete)
        app.router.add_post("/v1/messages/batches/{batch_id}/cancel", self.cancel)
        app.router.add_get("/v1/messages/batches/{batch_id}/results", self.results)

    def _batch(self, request: web.Request) -> SimulatedBatch:
        batch = self.batches.get(request.match_info["batch_id"])
        if batch is None:
            raise web.HTTPNotFound()
        batch.refresh(asyncio.get_running_loop().time())
        return batch

    async def create(self, request: web.Request) -> web.StreamResponse:
        body = await self.read_json(request, MAX_BATCH_BYTES)
        scenario = self.config.scenario
        limit = scenario.batch_max_requests if scenario else 100_000
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise InvalidRequest("requests: Input should be a non-empty list")
        if len(requests) > limit:
            raise InvalidRequest(f"requests: a batch holds at most {limit} requests, got {len(requests)}")
        items = [self._item(i, entry) for i, entry in enumerate(requests)]
        seen: set[str] = set()
        for i, item in enumerate(items):
            if item.custom_id in seen:
                raise InvalidRequest(f"requests.{i}.custom_id: {item.custom_id!r} is not unique in the batch")
            seen.add(item.custom_id)
        loop_now = asyncio.get_running_loop().time()
        processing_s = (scenario.batch_processing_ms if scenario else 1000.0) / 1000
        batch = SimulatedBatch(
            "msgbatch_01" + "".join(secrets.choice(BASE62) for _ in range(22)),
            items,
            datetime.now(UTC),
            loop_now,
            processing_s,
            results_base=str(request.url.origin()),
        )
        self.batches[batch.id] = batch
        batch.refresh(loop_now)
        return web.json_response(batch.to_json())

    def _item(self, index: int, entry: Any) -> BatchItem:
        where = f"requests.{index}"
        if not isinstance(entry, dict):
            raise InvalidRequest(f"{where}: Input should be an object with custom_id and params")
        custom_id, params = entry.get("custom_id"), entry.get("params")
        if not isinstance(custom_id, str) or not CUSTOM_ID.fullmatch(custom_id):
            raise InvalidRequest(f"{where}.custom_id: expected 1 to 64 letters, digits, '_' or '-'")
        if not isinstance(params, dict):
            raise InvalidRequest(f"{where}.params: Input should be an object")
        item = BatchItem(custom_id, params)
        try:
            # As in the API, params are validated while processing: a bad one errors its item only.
            check_messages_request(params)
            if params.get("stream") is True:
                raise InvalidRequest("stream: streaming is not supported in a batch")
        except InvalidRequest as problem:
            item.outcome, item.error = "errored", ("invalid_request_error", str(problem))
            return item
        scenario = self.config.scenario
        task = RequestedConversation.from_body(params).task
        rule = scenario.select(0, str(params["model"]), task, custom_id) if scenario else None
        if rule is not None and rule.batch_result is not None:
            item.outcome = rule.batch_result
            if rule.batch_result == "errored":
                item.error = (rule.error_type, rule.message or "Overloaded")
        item.settings = _settings(rule, scenario.answer_tokens if scenario else None, params["max_tokens"])
        return item

    async def list_batches(self, request: web.Request) -> web.StreamResponse:
        query = request.query
        try:
            limit = int(query.get("limit", "20"))
        except ValueError:
            raise InvalidRequest("limit: Input should be a valid integer") from None
        if not 1 <= limit <= 1000:
            raise InvalidRequest("limit: Input should be from 1 to 1000")
        newest_first = list(reversed(self.batches.values()))
        ids = [batch.id for batch in newest_first]
        if "after_id" in query and query["after_id"] in ids:
            newest_first = newest_first[ids.index(query["after_id"]) + 1 :]
        elif "before_id" in query and query["before_id"] in ids:
            newest_first = newest_first[: ids.index(query["before_id"])][-limit:]
        page = newest_first[:limit]
        now = asyncio.get_running_loop().time()
        for batch in page:
            batch.refresh(now)
        data = [batch.to_json() for batch in page]
        return web.json_response(
            {
                "data": data,
                "has_more": len(newest_first) > limit,
                "first_id": data[0]["id"] if data else None,
                "last_id": data[-1]["id"] if data else None,
            }
        )

    async def retrieve(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(self._batch(request).to_json())

    async def cancel(self, request: web.Request) -> web.StreamResponse:
        batch = self._batch(request)
        batch.cancel(asyncio.get_running_loop().time())
        return web.json_response(batch.to_json())

    async def delete(self, request: web.Request) -> web.StreamResponse:
        batch = self._batch(request)
        if batch.status != "ended":
            raise InvalidRequest("a batch can be deleted once it has ended; cancel it first")
        del self.batches[batch.id]
        return web.json_response({"id": batch.id, "type": "message_batch_deleted"})

    async def results(self, request: web.Request) -> web.StreamResponse:
        batch = self._batch(request)
        if batch.status != "ended":
            raise InvalidRequest(f"batch {batch.id} is still {batch.status}: results come once it has ended")
        response = web.StreamResponse(status=200, headers={"Content-Type": "application/binary"})
        await response.prepare(request)
        lines: list[bytes] = []
        for line in batch.result_lines():
            lines.append(line)
            if len(lines) >= RESULT_LINES_PER_WRITE:
                await response.write(b"".join(lines))
                lines.clear()
        if lines:
            await response.write(b"".join(lines))
        await response.write_eof()
        return response


def _settings(rule: Rule | None, default_tokens: int | None, max_tokens: int) -> AnswerSettings:
    tokens = rule.answer_tokens if rule is not None and rule.answer_tokens is not None else default_tokens
    return AnswerSettings(
        answer_tokens=None if tokens is None else min(tokens, max_tokens),
        exact_reply=rule.reply if rule else None,
        chunk_chars=rule.chunk_chars if rule else None,
        tool_use=rule.tool_use if rule else None,
    )


def _rfc3339(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")
