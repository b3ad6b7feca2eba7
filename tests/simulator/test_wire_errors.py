"""Requests broken at the HTTP level get the API's JSON error shape and a `request-id` header, never
aiohttp's plain text and never an endless wait; what SPEC section 6 says to accept is still accepted.

The wire-level cases are written byte by byte on raw sockets: no HTTP client would send them.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import anthropic
import pytest

from engine.simulator import Simulator, SimulatorConfig, server
from tests.simulator.support import MODEL, sdk_client, user

BODY = json.dumps({"model": MODEL, "max_tokens": 20, "messages": user("Hello")}).encode()
# Generous: a missing answer fails the test here instead of hanging until pytest-timeout.
ANSWER_WITHIN_S = 15.0
BODY_TIMEOUT_S = 0.5


@dataclass(frozen=True)
class RawReply:
    status: int
    headers: dict[str, str]
    body: bytes

    def api_error(self) -> dict[str, str]:
        """The error object, after checking the API's envelope and the request-id header."""
        assert self.headers["content-type"].startswith("application/json"), self
        payload = json.loads(self.body)
        assert payload["type"] == "error" and set(payload) == {"type", "error", "request_id"}, payload
        assert (
            payload["request_id"].startswith("req_") and self.headers["request-id"] == payload["request_id"]
        )
        assert payload["error"]["message"] and "\n" not in payload["error"]["message"]
        return payload["error"]


@pytest.fixture
async def simulator() -> AsyncIterator[Simulator]:
    async with Simulator(SimulatorConfig(), body_timeout_s=BODY_TIMEOUT_S) as sim:
        yield sim


async def exchange(sim: Simulator, *parts: bytes, pause_s: float = 0.1) -> RawReply:
    """Write `parts` with a pause between them (so the server sees them apart), read one response."""
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    try:
        async with asyncio.timeout(ANSWER_WITHIN_S):
            for index, part in enumerate(parts):
                if index:
                    await asyncio.sleep(pause_s)
                writer.write(part)
                await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status_line, *header_lines = head.decode("latin-1").split("\r\n")
            headers = dict(
                (name.strip().lower(), value.strip())
                for name, value in (line.split(":", 1) for line in header_lines if line)
            )
            body = await reader.readexactly(int(headers["content-length"]))
    finally:
        writer.close()
    return RawReply(int(status_line.split()[1]), headers, body)


def request_head(*headers: str, target: str = "/v1/messages") -> bytes:
    lines = [f"POST {target} HTTP/1.1", "Host: 127.0.0.1", *headers]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


JSON = "Content-Type: application/json"


@pytest.mark.parametrize(
    ("request_bytes", "problem"),
    [
        (
            request_head(JSON, "X-Huge: " + "a" * 20_000, f"Content-Length: {len(BODY)}") + BODY,
            "Got more than 8190 bytes",
        ),
        (
            request_head(JSON, *(f"X-H{i}: v" for i in range(200)), f"Content-Length: {len(BODY)}") + BODY,
            "Too many headers",
        ),
        (request_head(JSON, "Transfer-Encoding: chunked") + b"ZZZ\r\nabc\r\n0\r\n\r\n", "chunk size"),
        (
            request_head(JSON, "Transfer-Encoding: chunked", "Content-Length: 5") + b"0\r\n\r\n",
            "Content-Length",
        ),
        (request_head(JSON, "Content-Length: -5"), "Content-Length"),
        (b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03 hello\r\n\r\n", "HTTPS traffic"),
        (b"POST /v1/messages HTTP/9.9\r\nHost: x\r\n\r\n", "Bad status line"),
    ],
    ids=[
        "header-too-long",
        "too-many-headers",
        "bad-chunk-size",
        "length-and-chunked",
        "negative-length",
        "tls-hello",
        "bad-http-version",
    ],
)
async def test_what_the_http_parser_refuses_is_a_400_in_the_api_shape(
    simulator: Simulator, request_bytes: bytes, problem: str
):
    reply = await exchange(simulator, request_bytes)
    assert reply.status == 400
    error = reply.api_error()
    assert error["type"] == "invalid_request_error"
    assert error["message"].startswith("Malformed HTTP request: ") and problem in error["message"]
    # The bytes of the refused request are not echoed back.
    assert "aaaa" not in error["message"]


async def test_bad_chunk_inside_a_body_being_read_is_answered_at_once(simulator: Simulator):
    # The head and a good first chunk, then (a moment later, while the handler reads) a broken one.
    first = request_head(JSON, "Transfer-Encoding: chunked") + b'5\r\n{"mod\r\n'
    reply = await exchange(simulator, first, b"ZZ\r\nel\r\n")
    assert reply.status == 400
    assert "chunk" in reply.api_error()["message"].lower()
    # Answered from the parse error, not from the body timeout.
    assert "not received" not in reply.api_error()["message"]


@pytest.mark.parametrize(
    "request_bytes",
    [
        request_head(JSON, f"Content-Length: {len(BODY) + 500}") + BODY,
        request_head(JSON, "Transfer-Encoding: chunked") + b'5\r\n{"mod\r\n',
        request_head(JSON, "Content-Length: 100"),
    ],
    ids=["length-larger-than-body", "chunked-without-last-chunk", "no-body-at-all"],
)
async def test_a_body_that_never_completes_is_answered_408(simulator: Simulator, request_bytes: bytes):
    reply = await exchange(simulator, request_bytes)
    assert reply.status == 408
    error = reply.api_error()
    assert error["type"] == "invalid_request_error" and "not received within 0.5 s" in error["message"]
    assert reply.headers["connection"].lower() == "close"
    assert [record.status for record in simulator.log] == [408]


async def test_a_declared_length_beyond_the_limit_is_413_before_any_body_is_read(simulator: Simulator):
    reply = await exchange(simulator, request_head(JSON, f"Content-Length: {10**12}") + b"{")
    assert reply.status == 413
    error = reply.api_error()
    assert error["type"] == "request_too_large" and str(server.MAX_BODY_BYTES) in error["message"]


async def test_a_chunked_body_growing_past_the_limit_is_413(monkeypatch: pytest.MonkeyPatch):
    # The limit is lowered (before the server starts) so the test need not send 64 MB.
    monkeypatch.setattr(server, "MAX_BODY_BYTES", 10_000)
    async with Simulator(SimulatorConfig(), body_timeout_s=5) as sim:
        chunk = b"%x\r\n%s\r\n" % (4000, b" " * 4000)
        reply = await exchange(
            sim, request_head(JSON, "Transfer-Encoding: chunked") + chunk * 4 + b"0\r\n\r\n"
        )
    assert reply.status == 413
    assert reply.api_error()["type"] == "request_too_large"


@pytest.mark.parametrize(
    ("content_type", "accepted"),
    [
        ("text/plain", False),
        ("application/x-www-form-urlencoded", False),
        ("multipart/form-data; boundary=x", False),
        ("application/json", True),
        ("application/json; charset=utf-8", True),
        ("Application/JSON", True),
        ("application/vnd.anthropic+json", True),
        (None, True),
    ],
)
async def test_content_type_must_say_json_when_given(
    simulator: Simulator, content_type: str | None, accepted: bool
):
    headers = [f"Content-Length: {len(BODY)}"] + ([f"Content-Type: {content_type}"] if content_type else [])
    reply = await exchange(simulator, request_head(*headers) + BODY)
    if accepted:
        assert reply.status == 200 and json.loads(reply.body)["type"] == "message"
    else:
        assert reply.status == 400
        assert reply.api_error()["message"] == f"Content-Type must be application/json, got {content_type!r}"


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
async def test_nan_and_infinity_are_not_json(simulator: Simulator, constant: str):
    # Python's json module would read them; the API (and the SDK, which refuses to send them) does not.
    body = BODY.replace(b'"max_tokens": 20', b'"max_tokens": 20, "temperature": ' + constant.encode())
    reply = await exchange(simulator, request_head(JSON, f"Content-Length: {len(body)}") + body)
    assert reply.status == 400
    assert f"{constant.lstrip('-')} is not valid JSON" in reply.api_error()["message"]


async def test_the_server_keeps_serving_after_every_kind_of_malformed_request(simulator: Simulator):
    await exchange(simulator, request_head(JSON, "X-Huge: " + "a" * 20_000))
    await exchange(simulator, request_head(JSON, "Transfer-Encoding: chunked") + b"ZZZ\r\n")
    await exchange(simulator, request_head(JSON, "Content-Length: 100"))
    async with sdk_client(simulator) as sdk:
        message = await sdk.messages.create(model=MODEL, max_tokens=20, messages=user("Hello"))
    assert message.content[0].text


async def test_liberal_wire_facts_still_hold(simulator: Simulator):
    """SPEC section 6: any anthropic-version and beta, ?beta=true, a bearer token, a many-MB body."""
    big = json.dumps(
        {
            "model": "some-future-model",
            "max_tokens": 20,
            "messages": [{"role": "system", "content": "Be terse."}, *user("x" * 12_000_000)],
            "context_management": {"edits": []},
            "brand_new_option": {"nested": [1, 2]},
        }
    ).encode()
    headers = [
        JSON,
        "anthropic-version: 2099-12-31",
        "anthropic-beta: not-a-real-beta-2031-01-01,another",
        "Authorization: Bearer sk-whatever",
        f"Content-Length: {len(big)}",
    ]
    reply = await exchange(simulator, request_head(*headers, target="/v1/messages?beta=true") + big)
    assert reply.status == 200, reply.body[:300]
    assert json.loads(reply.body)["model"] == "some-future-model"


# Through the official SDK: what a real client can be made to send.


async def test_sdk_wrong_content_type_is_a_bad_request_error(simulator: Simulator):
    async with sdk_client(simulator) as sdk:
        with pytest.raises(anthropic.BadRequestError) as caught:
            await sdk.messages.create(
                model=MODEL, max_tokens=20, messages=user("Hi"), extra_headers={"Content-Type": "text/plain"}
            )
    assert caught.value.status_code == 400
    assert caught.value.body["error"]["message"] == "Content-Type must be application/json, got 'text/plain'"
    assert caught.value.request_id and caught.value.request_id.startswith("req_sim_")


async def test_sdk_body_over_the_limit_is_413_request_too_large(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setattr(server, "MAX_BODY_BYTES", 50_000)
    async with Simulator(SimulatorConfig()) as sim, sdk_client(sim) as sdk:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await sdk.messages.create(model=MODEL, max_tokens=20, messages=user("x" * 100_000))
        # One refusal does not break the server.
        assert (await sdk.messages.create(model=MODEL, max_tokens=20, messages=user("Hi"))).content
    assert caught.value.status_code == 413
    assert caught.value.body["error"]["type"] == "request_too_large"
    assert caught.value.request_id == caught.value.body["request_id"]
