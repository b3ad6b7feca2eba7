"""The simulator's aiohttp server: Messages API endpoints on 127.0.0.1, pacing, fault injection and a
request log that tests can read.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMessage, HttpProcessingError
from aiohttp.web_protocol import _ErrInfo
from aiohttp.web_request import BaseRequest

from engine.simulator.answers import (
    AnswerSettings,
    Reply,
    canonical_body,
    compose_reply,
    estimate_input_tokens,
)
from engine.simulator.batches import MAX_BATCH_BYTES, BatchesApi
from engine.simulator.conversation import RequestedConversation
from engine.simulator.pacing import TickClock
from engine.simulator.scenario import MID_STREAM_FAULTS, STATUS_FAULTS, Rule, SimulatorConfig
from engine.simulator.sse import error_payload, frame, render_stream
from engine.simulator.structured import requested_schema
from engine.simulator.validation import (
    InvalidRequest,
    check_count_header,
    check_messages_request,
    check_pacing_header,
    parse_json_object,
)

LOG = logging.getLogger("engine.simulator")
T = TypeVar("T")

HOST = "127.0.0.1"
# The real API accepts 32 MB bodies; coding agents send several MB late in a session.
MAX_BODY_BYTES = 64 * 1024 * 1024
# A body not complete by then (a Content-Length larger than what is sent) is answered 408, not awaited.
BODY_TIMEOUT_S = 30.0
# Limits on the per-request pacing headers, so no header can park a request for days.
MAX_ANSWER_TOKENS = 1_000_000
MAX_TTFT_MS = 600_000.0
MAX_TOKENS_PER_SECOND = 1e9
# Unthrottled, this many token frames go out per write: fewer syscalls, same bytes on the wire.
UNTHROTTLED_BATCH = 64
# How long a dropped connection waits for already-written frames to leave, before it breaks.
DROP_FLUSH_TIMEOUT_S = 1.0
SHUTDOWN_TIMEOUT_S = 0.5

ERROR_STATUS = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "overloaded_error": 529,
}
FAULT_ERRORS = {
    "rate_limit": ("rate_limit_error", "Number of request tokens has exceeded your per-minute rate limit"),
    "overloaded": ("overloaded_error", "Overloaded"),
    "server_error": ("api_error", "Internal server error"),
    # As the API words it; the key itself is never echoed.
    "auth_error": ("authentication_error", "invalid x-api-key"),
    "permission_error": (
        "permission_error",
        "Your API key does not have permission to use the specified resource.",
    ),
}
MODELS = (
    ("claude-opus-4-7", "Claude Opus 4.7", "2026-03-01T00:00:00Z"),
    ("claude-sonnet-4-6", "Claude Sonnet 4.6", "2026-02-01T00:00:00Z"),
    ("claude-haiku-4-5", "Claude Haiku 4.5", "2025-10-01T00:00:00Z"),
)


@dataclass(frozen=True)
class RequestRecord:
    """One finished request as the simulator saw it."""

    number: int
    method: str
    path: str
    status: int
    model: str | None
    stream: bool
    # Token frames actually written to the client (a hang-up stops the count where it happened).
    output_tokens: int
    hung_up: bool
    fault: str | None
    duration_s: float


@dataclass
class Exchange:
    """What is known about a request while it is being handled; becomes a RequestRecord at the end."""

    number: int
    method: str
    path: str
    request_id: str
    started: float
    status: int = 0
    model: str | None = None
    stream: bool = False
    output_tokens: int = 0
    hung_up: bool = False
    fault: str | None = None


@dataclass(frozen=True)
class Pacing:
    first_token_delay_s: float
    # Seconds between tokens; 0 sends as fast as the client reads.
    token_interval_s: float


@dataclass(frozen=True)
class RequestedPacing:
    """What a request's `x-sim-*` headers ask for (None: not asked)."""

    ttft_ms: float | None
    tokens_per_second: float | None
    answer_tokens: int | None

    @classmethod
    def from_headers(cls, request: web.Request) -> RequestedPacing:
        headers = request.headers
        return cls(
            ttft_ms=check_pacing_header("x-sim-ttft-ms", headers.get("x-sim-ttft-ms"), MAX_TTFT_MS),
            tokens_per_second=check_pacing_header(
                "x-sim-tokens-per-second", headers.get("x-sim-tokens-per-second"), MAX_TOKENS_PER_SECOND
            ),
            answer_tokens=check_count_header(
                "x-sim-answer-tokens", headers.get("x-sim-answer-tokens"), MAX_ANSWER_TOKENS
            ),
        )


EXCHANGE_KEY = web.RequestKey("exchange", Exchange)


class Simulator:
    """The Messages-API simulator, served on 127.0.0.1 while the `async with` block runs."""

    def __init__(
        self, config: SimulatorConfig | None = None, *, port: int = 0, body_timeout_s: float = BODY_TIMEOUT_S
    ) -> None:
        self.config = config or SimulatorConfig()
        self.log: list[RequestRecord] = []
        self.port = port
        self.body_timeout_s = body_timeout_s
        self._requests_seen = 0
        self._app_runner: web.AppRunner | None = None
        self._logged: asyncio.Event | None = None
        self._clock = TickClock()
        self.batches = BatchesApi(self.config, self._read_json)

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.port}"

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()

    async def start(self) -> None:
        """Bind and serve; raises OSError when the port is taken."""
        self._logged = asyncio.Event()
        app = web.Application(
            middlewares=[self._track_request], client_max_size=max(MAX_BODY_BYTES, MAX_BATCH_BYTES)
        )
        app.router.add_post("/v1/messages", self._messages)
        app.router.add_post("/v1/messages/count_tokens", self._count_tokens)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/v1/models/{model_id}", self._model)
        # Claude Code's connectivity probe (HEAD) before its first call, unless non-essential traffic is off.
        app.router.add_get("/api/hello", self._hello)
        self.batches.add_routes(app)
        app.on_response_prepare.append(_add_request_id)
        # handler_cancellation: a client that hangs up cancels its handler at once, even mid-sleep.
        runner = _ApiAppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S
        )
        await runner.setup()
        try:
            site = web.TCPSite(runner, HOST, self.port)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._app_runner = runner
        self.port = runner.addresses[0][1]

    async def close(self) -> None:
        if self._app_runner is not None:
            await self._app_runner.cleanup()
            self._app_runner = None

    async def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RequestRecord]:
        """The log once it holds at least `count` records; TimeoutError after `timeout` seconds."""
        assert self._logged is not None, "the simulator is not running"
        async with asyncio.timeout(timeout):
            while len(self.log) < count:
                self._logged.clear()
                await self._logged.wait()
        return list(self.log)

    @web.middleware
    async def _track_request(self, request: web.Request, handler: Any) -> web.StreamResponse:
        loop = asyncio.get_running_loop()
        self._requests_seen += 1
        exchange = Exchange(
            number=self._requests_seen,
            method=request.method,
            path=request.path,
            request_id=f"req_sim_{uuid.uuid4().hex[:24]}",
            started=loop.time(),
        )
        request[EXCHANGE_KEY] = exchange
        try:
            response = await _as_api_response(handler, request, exchange)
            exchange.status = exchange.status or response.status
            return response
        except asyncio.CancelledError:
            # A dropped connection is the fault we injected, not the client leaving.
            if exchange.fault != "drop":
                exchange.hung_up = True
            raise
        finally:
            self._record(exchange, loop.time())

    def _record(self, exchange: Exchange, now: float) -> None:
        record = RequestRecord(
            number=exchange.number,
            method=exchange.method,
            path=exchange.path,
            status=exchange.status,
            model=exchange.model,
            stream=exchange.stream,
            output_tokens=exchange.output_tokens,
            hung_up=exchange.hung_up,
            fault=exchange.fault,
            duration_s=now - exchange.started,
        )
        self.log.append(record)
        if self._logged is not None:
            self._logged.set()
        LOG.info(
            "#%d %s %s %d tokens=%d hung_up=%s fault=%s %.3fs",
            record.number,
            record.method,
            record.path,
            record.status,
            record.output_tokens,
            record.hung_up,
            record.fault,
            record.duration_s,
        )

    async def _messages(self, request: web.Request) -> web.StreamResponse:
        exchange = request[EXCHANGE_KEY]
        body = await self._read_json(request)
        if isinstance(body.get("model"), str):
            exchange.model = body["model"]
        exchange.stream = body.get("stream") is True
        check_messages_request(body)
        # Headers are checked before a scenario rule is chosen, so a refused request uses up no rule.
        asked = RequestedPacing.from_headers(request)
        conversation = RequestedConversation.from_body(body)
        scenario = self.config.scenario
        rule = scenario.select(exchange.number, body["model"], conversation.task) if scenario else None
        pacing = self._pacing(asked, rule)
        answer_tokens = _first_given(
            asked.answer_tokens,
            rule.answer_tokens if rule else None,
            scenario.answer_tokens if scenario else None,
        )
        if rule is not None and rule.fault is not None:
            exchange.fault = rule.fault
            if rule.fault in STATUS_FAULTS:
                return _fault_response(rule, exchange)
        wants_json = requested_schema(body, conversation.system_text, conversation.task) is not None
        settings = AnswerSettings(
            answer_tokens=None if answer_tokens is None else min(answer_tokens, body["max_tokens"]),
            exact_reply=rule.reply if rule else None,
            invalid_json=bool(scenario and rule and wants_json and scenario.take_invalid_json(rule)),
            chunk_chars=rule.chunk_chars if rule else None,
            tool_use=rule.tool_use if rule else None,
        )
        reply = compose_reply(body, conversation, settings)
        mid_stream_fault = rule if rule is not None and rule.fault in MID_STREAM_FAULTS else None
        if exchange.stream:
            return await _stream(self._clock, request, exchange, reply, pacing, mid_stream_fault)
        return await _respond_whole(request, exchange, reply, pacing, mid_stream_fault)

    def _pacing(self, asked: RequestedPacing, rule: Rule | None) -> Pacing:
        """Pacing from, most specific first: request headers, the rule, the command line, the scenario."""
        scenario = self.config.scenario
        ttft_ms = _first_given(
            asked.ttft_ms,
            rule.ttft_ms if rule else None,
            self.config.ttft_ms,
            scenario.ttft_ms if scenario else None,
        )
        tokens_per_second = _first_given(
            asked.tokens_per_second,
            rule.tokens_per_second if rule else None,
            self.config.tokens_per_second,
            scenario.tokens_per_second if scenario else None,
        )
        delay_s = (ttft_ms or 0.0) / 1000
        if rule is not None and rule.fault == "slow_first_token":
            delay_s += rule.slow_first_token_ms / 1000
        return Pacing(delay_s, 1 / tokens_per_second if tokens_per_second else 0.0)

    async def _read_json(self, request: web.Request, limit: int | None = None) -> dict[str, Any]:
        """The body as a JSON object; refused when it is not JSON, too large, or never completes."""
        limit = limit or MAX_BODY_BYTES
        content_type = request.headers.get("Content-Type")
        # No Content-Type is let through (liberal); one that says the body is something else is not.
        if content_type is not None and not _is_json_type(request.content_type):
            raise InvalidRequest(f"Content-Type must be application/json, got {content_type!r}")
        if request.content_length is not None and request.content_length > limit:
            raise web.HTTPRequestEntityTooLarge(limit, request.content_length)
        try:
            async with asyncio.timeout(self.body_timeout_s):
                raw = await request.read()
        except TimeoutError:
            length = request.content_length
            announced = "" if length is None else f" ({length} bytes announced)"
            message = f"Request body not received within {self.body_timeout_s:g} s{announced}"
            raise _BodyTimeout(message) from None
        if len(raw) > limit:  # a chunked body has no declared length; the app allows the batch limit
            raise web.HTTPRequestEntityTooLarge(limit, len(raw))
        return parse_json_object(raw)

    async def _count_tokens(self, request: web.Request) -> web.StreamResponse:
        body = await self._read_json(request)
        check_messages_request(body, needs_max_tokens=False)
        request[EXCHANGE_KEY].model = body["model"]
        return web.json_response({"input_tokens": estimate_input_tokens(canonical_body(body))})

    async def _models(self, request: web.Request) -> web.StreamResponse:
        models = [_model_json(model_id) for model_id, _, _ in MODELS]
        return web.json_response(
            {"data": models, "has_more": False, "first_id": models[0]["id"], "last_id": models[-1]["id"]}
        )

    async def _model(self, request: web.Request) -> web.StreamResponse:
        return web.json_response(_model_json(request.match_info["model_id"]))

    async def _hello(self, request: web.Request) -> web.StreamResponse:
        return web.json_response({"message": "hello"})


class _BodyTimeout(Exception):
    """The request body did not arrive in time (the message says how long was waited)."""


def _is_json_type(content_type: str) -> bool:
    return content_type == "application/json" or (
        content_type.startswith("application/") and content_type.endswith("+json")
    )


def _first_given(*values: T | None) -> T | None:
    return next((value for value in values if value is not None), None)


def _compact_json(data: Any) -> str:
    return json.dumps(data, ensure_ascii=False, separators=(",", ":"))


def _model_json(model_id: str) -> dict[str, Any]:
    known = {model: (name, created) for model, name, created in MODELS}
    name, created = known.get(model_id, (model_id, "2025-01-01T00:00:00Z"))
    return {"type": "model", "id": model_id, "display_name": name, "created_at": created}


async def _add_request_id(request: web.Request, response: web.StreamResponse) -> None:
    exchange = request.get(EXCHANGE_KEY)
    if exchange is not None:
        response.headers["request-id"] = exchange.request_id


def _error_response(
    exchange: Exchange,
    error_type: str,
    message: str,
    headers: dict[str, str] | None = None,
    status: int | None = None,
) -> web.Response:
    return web.json_response(
        error_payload(error_type, message, exchange.request_id),
        status=status or ERROR_STATUS.get(error_type, 500),
        headers=headers,
    )


async def _as_api_response(handler: Any, request: web.Request, exchange: Exchange) -> web.StreamResponse:
    """The handler's response, with every failure turned into the API's JSON error shape."""
    try:
        return await handler(request)
    except InvalidRequest as problem:
        return _error_response(exchange, "invalid_request_error", str(problem))
    except HttpProcessingError as problem:
        # The parser failed inside the body (bad chunked encoding); nothing more can be read.
        message = f"Malformed HTTP request: {_first_line(problem.message)}"
        response = _error_response(exchange, "invalid_request_error", message)
        response.force_close()
        return response
    except _BodyTimeout as problem:
        # The rest of the body may still come: the connection is closed rather than read on.
        response = _error_response(exchange, "invalid_request_error", str(problem), status=408)
        response.force_close()
        return response
    except web.HTTPRequestEntityTooLarge:
        message = f"Request exceeds the maximum size of {MAX_BODY_BYTES} bytes"
        response = _error_response(exchange, "request_too_large", message)
        response.force_close()
        return response
    except web.HTTPNotFound:
        return _error_response(exchange, "not_found_error", f"Not found: {request.method} {request.path}")
    except web.HTTPMethodNotAllowed as refused:
        message = f"Method {request.method} not allowed for {request.path}"
        return web.json_response(
            error_payload("invalid_request_error", message, exchange.request_id),
            status=405,
            headers={"Allow": ", ".join(sorted(refused.allowed_methods))},
        )
    except web.HTTPException as http_error:
        payload = error_payload("invalid_request_error", http_error.reason, exchange.request_id)
        return web.json_response(payload, status=http_error.status)
    except ConnectionResetError:
        exchange.hung_up = exchange.fault != "drop"
        # The client is gone: this response is never sent, aiohttp only needs one to finish the request.
        return web.Response(status=exchange.status or 499)
    except Exception:
        LOG.exception("request #%d failed inside the simulator", exchange.number)
        return _error_response(exchange, "api_error", "Internal server error")


def _fault_response(rule: Rule, exchange: Exchange) -> web.Response:
    error_type, message = FAULT_ERRORS[rule.fault or "server_error"]
    headers = None
    if rule.fault == "rate_limit":
        seconds = rule.retry_after
        headers = {"retry-after": str(int(seconds)) if seconds.is_integer() else str(seconds)}
    return _error_response(exchange, error_type, rule.message or message, headers)


async def _stream(
    clock: TickClock,
    request: web.Request,
    exchange: Exchange,
    reply: Reply,
    pacing: Pacing,
    fault: Rule | None,
) -> web.StreamResponse:
    rendered = render_stream(reply)
    response = web.StreamResponse(
        status=200, headers={"Content-Type": "text/event-stream; charset=utf-8", "Cache-Control": "no-cache"}
    )
    await response.prepare(request)
    exchange.status = 200
    await response.write(rendered.head)
    units = rendered.units
    loop = asyncio.get_running_loop()
    stop_at = min(fault.after_tokens, len(units)) if fault else len(units)
    first_at = loop.time() + pacing.first_token_delay_s
    await _send_units(clock, response, units, 0, stop_at, first_at, pacing.token_interval_s, exchange)
    if fault is not None and fault.fault == "stall":
        await asyncio.sleep(fault.stall_seconds)
        await _send_units(
            clock, response, units, stop_at, len(units), loop.time(), pacing.token_interval_s, exchange
        )
        fault = None
    if fault is None:
        await response.write(rendered.tail)
    elif fault.fault == "error_event":
        payload = error_payload(fault.error_type, fault.message or "Overloaded", exchange.request_id)
        await response.write(frame("error", payload))
    elif fault.fault == "drop":
        await _drop_connection(request)
        return response
    await response.write_eof()
    return response


async def _send_units(
    clock: TickClock,
    response: web.StreamResponse,
    units: list[bytes],
    start: int,
    stop: int,
    first_at: float,
    interval: float,
    exchange: Exchange,
) -> None:
    """Write units[start:stop], unit k at first_at + (k - start) * interval (absolute, so no drift)."""
    loop = asyncio.get_running_loop()
    sent = start
    while sent < stop:
        deadline = first_at + (sent - start) * interval
        if deadline > loop.time():
            await clock.sleep_until(deadline)
        if interval:
            # The unit slept for is due; so is any later one whose time passed (a late wake-up catches up).
            overdue = start + int((loop.time() - first_at) / interval) + 1
            due = min(stop, max(sent + 1, overdue))
        else:
            due = min(stop, sent + UNTHROTTLED_BATCH)
        await response.write(units[sent] if due == sent + 1 else b"".join(units[sent:due]))
        sent = due
        exchange.output_tokens = sent


async def _drop_connection(request: web.Request) -> None:
    transport = request.transport
    if transport is None:
        return
    # Frames already written reach the client before the connection breaks, as when a real stream dies.
    loop = asyncio.get_running_loop()
    give_up = loop.time() + DROP_FLUSH_TIMEOUT_S
    while transport.get_write_buffer_size() and loop.time() < give_up:
        await asyncio.sleep(0.005)
    transport.abort()


async def _respond_whole(
    request: web.Request, exchange: Exchange, reply: Reply, pacing: Pacing, fault: Rule | None
) -> web.StreamResponse:
    """The non-streaming answer, after as long as streaming it would take; faults act on the whole."""
    tokens = reply.output_tokens
    if fault is not None and fault.fault == "stall":
        await asyncio.sleep(fault.stall_seconds)
    elif fault is not None:
        tokens = min(fault.after_tokens, tokens)
    await asyncio.sleep(pacing.first_token_delay_s + tokens * pacing.token_interval_s)
    exchange.output_tokens = tokens
    if fault is None or fault.fault == "stall":
        return web.json_response(reply.to_json(), dumps=_compact_json)
    if fault.fault == "error_event":
        return _error_response(exchange, fault.error_type, fault.message or "Overloaded")
    # A drop or a cut leaves a non-streamed request without any response: the connection just breaks.
    await _drop_connection(request)
    return web.Response(status=200)


class _ApiRequestHandler(web.RequestHandler):
    """aiohttp's connection handler, answering what its HTTP parser refuses (a header too large, bad
    chunked encoding, not HTTP at all) in the API's error shape instead of plain text."""

    def data_received(self, data: bytes) -> None:
        queued = len(self._messages)
        super().data_received(data)
        request = self._current_request
        if request is None or len(self._messages) == queued:
            return
        failure, _ = self._messages[-1]
        if isinstance(failure, _ErrInfo) and not request.content.is_eof():
            # aiohttp queues a parse error inside a body as the next request and leaves the handler
            # reading forever; failing the read lets the handler answer 400 at once.
            request.content.set_exception(failure.exc or BadHttpMessage(failure.message))

    def handle_error(
        self,
        request: BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        if request.writer.output_size > 0:
            # Part of a response went out already: another one cannot follow, the connection breaks.
            raise ConnectionError("response already started, cannot send the error")
        request_id = f"req_sim_{uuid.uuid4().hex[:24]}"
        if status >= 500:
            error_type, text = "api_error", "Internal server error"
            LOG.error("request refused with %d inside aiohttp", status, exc_info=exc)
        else:
            error_type = next((name for name, code in ERROR_STATUS.items() if code == status), None)
            error_type = error_type or "invalid_request_error"
            text = f"Malformed HTTP request: {_first_line(message or str(exc or 'bad request'))}"
            LOG.info("malformed request refused with %d: %s", status, text)
        response = web.json_response(
            error_payload(error_type, text, request_id), status=status, headers={"request-id": request_id}
        )
        response.force_close()
        return response


def _first_line(parser_message: str) -> str:
    """aiohttp's parser messages span lines and echo the bytes; the first line, without the echo."""
    line = parser_message.strip().splitlines()[0] if parser_message.strip() else "bad request"
    return line.split(": b'")[0].split(': b"')[0].rstrip(":. ") or "bad request"


class _ApiServer(web.Server):
    def __call__(self) -> web.RequestHandler:
        return _ApiRequestHandler(self, loop=self._loop, **self._kwargs)


class _ApiAppRunner(web.AppRunner):
    """An AppRunner whose connections are served by `_ApiRequestHandler`."""

    async def _make_server(self) -> web.Server:
        server = await super()._make_server()
        return _ApiServer(
            server.request_handler,
            request_factory=server.request_factory,
            handler_cancellation=server.handler_cancellation,
            loop=server._loop,
            **server._kwargs,
        )
