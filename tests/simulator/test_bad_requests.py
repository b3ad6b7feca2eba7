"""Bad requests get the API's 4xx JSON errors naming the problem, and never break the server."""

from __future__ import annotations

import json
import random
from typing import Any

import aiohttp
import pytest

from engine.simulator import Simulator
from tests.simulator.support import MODEL, user

VALID = {"model": MODEL, "max_tokens": 50, "messages": user("Hello")}


async def post(
    sim: Simulator, data: bytes, headers: dict[str, str] | None = None, path: str = "/v1/messages"
):
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http,
        http.post(
            sim.base_url + path, data=data, headers=headers or {"content-type": "application/json"}
        ) as reply,
    ):
        return reply.status, reply.headers, await reply.read()


@pytest.mark.parametrize(
    ("body", "problem"),
    [
        (b'{"model": ', "error parsing the body"),
        (b"[1, 2]", "must be a JSON object"),
        (b"", "body is empty"),
        (b"\xff\xfe{}", "error parsing the body"),
        (json.dumps({k: v for k, v in VALID.items() if k != "model"}).encode(), "model: Field required"),
        (
            json.dumps({k: v for k, v in VALID.items() if k != "max_tokens"}).encode(),
            "max_tokens: Field required",
        ),
        (
            json.dumps({k: v for k, v in VALID.items() if k != "messages"}).encode(),
            "messages: Field required",
        ),
        (json.dumps(VALID | {"max_tokens": 0}).encode(), "max_tokens: Input should be a positive integer"),
        (json.dumps(VALID | {"max_tokens": "10"}).encode(), "max_tokens"),
        (json.dumps(VALID | {"messages": []}).encode(), "at least one message"),
        (json.dumps(VALID | {"messages": [{"role": "bot", "content": "hi"}]}).encode(), "messages.0.role"),
        (json.dumps(VALID | {"messages": [{"role": "user", "content": ""}]}).encode(), "non-empty content"),
        (json.dumps(VALID | {"messages": [{"role": "user", "content": []}]}).encode(), "non-empty content"),
        (
            json.dumps(
                VALID | {"messages": [{"role": "user", "content": [{"type": "text", "text": ""}]}]}
            ).encode(),
            "text content blocks must be non-empty",
        ),
        (b"[" * 100_000, "nested too deeply"),
    ],
)
async def test_invalid_bodies_get_400_naming_the_problem(simulator: Simulator, body: bytes, problem: str):
    status, headers, raw = await post(simulator, body)
    error = json.loads(raw)
    assert status == 400, raw
    assert error["type"] == "error" and error["error"]["type"] == "invalid_request_error"
    assert problem in error["error"]["message"]
    assert headers["request-id"] == error["request_id"]


async def test_unknown_paths_and_wrong_methods(simulator: Simulator):
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        async with http.get(simulator.base_url + "/v1/messages") as reply:
            assert reply.status == 405
            assert (await reply.json())["error"]["type"] == "invalid_request_error"
        async with http.post(simulator.base_url + "/v1/nothing-here", json=VALID) as reply:
            assert reply.status == 404
            assert (await reply.json())["error"]["type"] == "not_found_error"
        async with http.delete(simulator.base_url + "/v1/models") as reply:
            assert reply.status == 405
    assert [record.status for record in simulator.log] == [405, 404, 405]


async def test_bad_pacing_header_is_named(simulator: Simulator):
    status, _, raw = await post(
        simulator, json.dumps(VALID).encode(), {"content-type": "application/json", "x-sim-ttft-ms": "soon"}
    )
    assert status == 400 and "x-sim-ttft-ms" in json.loads(raw)["error"]["message"]


BAD_OPTIONAL_FIELDS: dict[str, list[Any]] = {
    "stop_sequences": [5, "x", [3], [""]],
    "tools": [5, "x", [3], [{}]],
    "thinking": [5, "x", {"type": 1}, {"type": "enabled"}],
    "system": [5, [3], {"type": 1}],
}


def _bad_value(rng: random.Random) -> Any:
    return rng.choice([None, -1, 0, 1.5, True, "", "x", [], {}, [None], {"a": 1}, "\u0000", 10**30])


def _malformed_request(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """A request that is invalid in one random way, with random harmless header noise."""
    headers = {"content-type": rng.choice(["application/json", "text/plain", "application/x-garbage", ""])}
    if rng.random() < 0.5:
        headers["anthropic-version"] = rng.choice(["2023-06-01", "nonsense", "9" * 200])
        headers["x-api-key"] = "".join(rng.choice("abc123-_") for _ in range(rng.randint(0, 40)))
    body: Any = json.loads(json.dumps(VALID))
    kind = rng.randrange(8)
    if kind == 0:
        raw = bytes(rng.randrange(256) for _ in range(rng.randint(1, 200)))
        try:
            if isinstance(json.loads(raw), dict):
                raw = b"{" + raw
        except ValueError:
            pass
        return raw, headers
    if kind == 1:
        return json.dumps(body).encode()[: rng.randint(0, 40)], headers
    if kind == 2:
        del body[rng.choice(["model", "max_tokens", "messages"])]
    elif kind == 3:
        field = rng.choice(["model", "max_tokens", "messages", "stream"])
        bad = _bad_value(rng)
        while _accepted(field, bad):
            bad = _bad_value(rng)
        body[field] = bad
    elif kind == 4:
        message = rng.choice(
            [
                {"role": rng.choice(["bot", "", None, 3]), "content": "hi"},
                {
                    "role": "user",
                    "content": rng.choice(["", [], None, 5, [{"type": "text", "text": ""}], [7]]),
                },
                {"role": "user"},
                rng.choice(["just text", 42, None]),
            ]
        )
        body["messages"] = [*body["messages"], message] if rng.random() < 0.5 else [message]
    elif kind == 5:
        headers[rng.choice(["x-sim-ttft-ms", "x-sim-tokens-per-second", "x-sim-answer-tokens"])] = rng.choice(
            ["-1", "abc", "nan", "inf", "1e999", "99999999999", "", "²"]
        )
    elif kind == 6:
        field, bad_values = rng.choice(list(BAD_OPTIONAL_FIELDS.items()))
        body[field] = rng.choice(bad_values)
    else:
        return json.dumps(rng.choice([[], "text", 12, None, [VALID]])).encode(), headers
    return json.dumps(body).encode(), headers


def _accepted(field: str, value: Any) -> bool:
    if field == "model":
        return isinstance(value, str) and bool(value.strip())
    if field == "max_tokens":
        return isinstance(value, int) and not isinstance(value, bool) and value >= 1
    if field == "stream":
        return isinstance(value, bool)
    return False


async def test_fuzzed_requests_all_get_4xx_json_and_the_server_survives(simulator: Simulator):
    rng = random.Random(20240601)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for _ in range(300):
            body, headers = _malformed_request(rng)
            path = rng.choice(["/v1/messages", "/v1/messages?beta=true"])
            async with http.post(simulator.base_url + path, data=body, headers=headers) as reply:
                raw = await reply.read()
                assert 400 <= reply.status < 500, (body[:200], headers, raw)
                error = json.loads(raw)
                assert error["type"] == "error" and error["error"]["message"]
        async with http.post(simulator.base_url + "/v1/messages", json=VALID) as reply:
            assert reply.status == 200
            assert (await reply.json())["content"][0]["text"]
    assert len(simulator.log) == 301
