"""Fault scripts and pacing: each injected fault surfaces in the official SDK as the real API's would."""

from __future__ import annotations

import json
import time
from pathlib import Path

import anthropic
import httpx2
import pytest

from engine.simulator import Scenario, ScenarioError
from tests.simulator.support import MODEL, PROMPT, scenario_simulator, sdk_client, user


async def collect(client: anthropic.AsyncAnthropic, **request: object) -> list[object]:
    request = {"model": MODEL, "max_tokens": 2000, "messages": user(PROMPT)} | request
    return [event async for event in await client.messages.create(stream=True, **request)]


def text_deltas(events: list[object]) -> list[str]:
    return [e.delta.text for e in events if e.type == "content_block_delta" and e.delta.type == "text_delta"]


async def test_rate_limit_is_retried_by_the_sdk_after_retry_after():
    async with (
        scenario_simulator("rules: [{request: 1, fault: rate_limit, retry_after: 1}]") as sim,
        sdk_client(sim, max_retries=2) as client,
    ):
        started = time.monotonic()
        message = await client.messages.create(model=MODEL, max_tokens=100, messages=user(PROMPT))
        elapsed = time.monotonic() - started
        assert message.content[0].text
        first, second = await sim.wait_for_requests(2)
        assert (first.status, first.fault, second.status, second.fault) == (429, "rate_limit", 200, None)
        # The SDK's own first backoff is at most 0.5 s: taking about 1 s means it honoured retry-after.
        assert first.duration_s + second.duration_s < 0.5 and 0.9 < elapsed < 5


async def test_rate_limit_error_has_the_api_shape():
    async with (
        scenario_simulator("rules: [{fault: rate_limit, retry_after: 7}]") as sim,
        sdk_client(sim) as client,
    ):
        with pytest.raises(anthropic.RateLimitError) as caught:
            await client.messages.create(model=MODEL, max_tokens=100, messages=user(PROMPT), stream=True)
    error = caught.value
    assert error.response.headers["retry-after"] == "7"
    assert error.response.headers["request-id"] == error.body["request_id"]
    assert error.body["type"] == "error" and error.body["error"]["type"] == "rate_limit_error"


@pytest.mark.parametrize(
    ("fault", "status", "error_type"),
    [
        ("overloaded", 529, "overloaded_error"),
        ("server_error", 500, "api_error"),
        ("auth_error", 401, "authentication_error"),
    ],
)
async def test_status_faults(fault: str, status: int, error_type: str):
    async with scenario_simulator(f"rules: [{{fault: {fault}}}]") as sim, sdk_client(sim) as client:
        with pytest.raises(anthropic.APIStatusError) as caught:
            await client.messages.create(model=MODEL, max_tokens=100, messages=user(PROMPT))
    assert caught.value.status_code == status
    assert caught.value.body["error"]["type"] == error_type


async def test_once_lets_the_retried_request_succeed():
    scenario = "rules: [{prompt_contains: flaky, fault: server_error, once: true}]"
    async with scenario_simulator(scenario) as sim, sdk_client(sim, max_retries=1) as client:
        message = await client.messages.create(model=MODEL, max_tokens=100, messages=user("a flaky request"))
        assert message.stop_reason in ("end_turn", "max_tokens")
        await client.messages.create(model=MODEL, max_tokens=100, messages=user("a steady request"))
        assert [(r.status, r.fault) for r in sim.log] == [(500, "server_error"), (200, None), (200, None)]


async def test_error_event_mid_stream_raises_api_status_error():
    async with (
        scenario_simulator("rules: [{fault: error_event, after_tokens: 5}]") as sim,
        sdk_client(sim) as client,
    ):
        received: list[object] = []
        with pytest.raises(anthropic.APIStatusError) as caught:
            async for event in await client.messages.create(
                model=MODEL, max_tokens=2000, messages=user(PROMPT), stream=True
            ):
                received.append(event)
        assert len(text_deltas(received)) == 5
        assert caught.value.body["error"]["type"] == "overloaded_error"
        (record,) = await sim.wait_for_requests(1)
        assert record.fault == "error_event" and record.output_tokens == 5 and not record.hung_up


async def test_dropped_connection_raises_a_connection_error():
    async with (
        scenario_simulator("rules: [{fault: drop, after_tokens: 5}]") as sim,
        sdk_client(sim) as client,
    ):
        received: list[object] = []
        with pytest.raises((anthropic.APIConnectionError, httpx2.TransportError)):
            async for event in await client.messages.create(
                model=MODEL, max_tokens=2000, messages=user(PROMPT), stream=True
            ):
                received.append(event)
        assert len(text_deltas(received)) == 5
        with pytest.raises(anthropic.APIConnectionError):
            await client.messages.create(model=MODEL, max_tokens=2000, messages=user(PROMPT))
        records = await sim.wait_for_requests(2)
        assert [(r.fault, r.hung_up) for r in records] == [("drop", False), ("drop", False)]


async def test_stall_hits_the_client_read_timeout():
    async with (
        scenario_simulator("rules: [{fault: stall, after_tokens: 3, seconds: 5}]") as sim,
        sdk_client(sim, timeout=0.5) as client,
    ):
        received: list[object] = []
        with pytest.raises((anthropic.APITimeoutError, httpx2.ReadTimeout)):
            async for event in await client.messages.create(
                model=MODEL, max_tokens=2000, messages=user(PROMPT), stream=True
            ):
                received.append(event)
        assert len(text_deltas(received)) == 3
        (record,) = await sim.wait_for_requests(1)
        assert record.hung_up and record.output_tokens == 3


async def test_stall_then_the_stream_resumes_for_a_patient_client():
    async with (
        scenario_simulator("rules: [{fault: stall, after_tokens: 3, seconds: 0.3}]") as sim,
        sdk_client(sim) as client,
    ):
        events = await collect(client)
    assert events[-1].type == "message_stop"


async def test_cut_stream_ends_without_message_stop():
    async with scenario_simulator("rules: [{fault: cut, after_tokens: 5}]") as sim, sdk_client(sim) as client:
        events = await collect(client)
    kinds = [event.type for event in events]
    assert "message_stop" not in kinds and "message_delta" not in kinds
    assert len(text_deltas(events)) == 5


async def test_slow_first_token_and_pacing():
    scenario = """
        tokens_per_second: 200
        rules: [{request: 1, fault: slow_first_token, ms: 400}]
    """
    async with scenario_simulator(scenario) as sim, sdk_client(sim) as client:
        started = time.monotonic()
        stream = await client.messages.create(
            model=MODEL,
            max_tokens=2000,
            messages=user(PROMPT),
            stream=True,
            extra_headers={"x-sim-answer-tokens": "20"},
        )
        first_delta_at = None
        async for event in stream:
            if event.type == "content_block_delta" and first_delta_at is None:
                first_delta_at = time.monotonic() - started
        total = time.monotonic() - started
        assert first_delta_at is not None and first_delta_at >= 0.35
        # 20 tokens at 200/s take about 0.1 s after the first.
        assert total >= first_delta_at + 0.08
        fast = await client.messages.create(
            model=MODEL,
            max_tokens=2000,
            messages=user(PROMPT),
            extra_headers={"x-sim-tokens-per-second": "0", "x-sim-answer-tokens": "300"},
        )
        assert fast.usage.output_tokens == 300
        assert sim.log[1].duration_s < 2


async def test_reply_answer_tokens_and_model_rules():
    scenario = """
        rules:
          - {prompt_contains: greet, reply: "Hello there, friend!"}
          - {model: haiku, answer_tokens: 12}
    """
    async with scenario_simulator(scenario) as sim, sdk_client(sim) as client:
        greeting = await client.messages.create(model=MODEL, max_tokens=100, messages=user("greet me"))
        short = await client.messages.create(model="claude-haiku-4-5", max_tokens=100, messages=user(PROMPT))
        events = await collect(client, messages=user("please greet"))
    assert greeting.content[0].text == "Hello there, friend!"
    assert "".join(text_deltas(events)) == "Hello there, friend!" and len(text_deltas(events)) > 3
    assert short.usage.output_tokens == 12


async def test_invalid_json_first_then_valid():
    schema = {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}
    async with scenario_simulator("rules: [{invalid_json_first: true}]") as sim, sdk_client(sim) as client:
        texts = [
            (
                await client.messages.create(
                    model=MODEL,
                    max_tokens=500,
                    messages=user("Name the service"),
                    output_config={"format": {"type": "json_schema", "schema": schema}},
                )
            )
            .content[0]
            .text
            for _ in range(2)
        ]
    with pytest.raises(json.JSONDecodeError):
        json.loads(texts[0])
    assert set(json.loads(texts[1])) == {"name"}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("rules: [{falt: drop}]", "unknown key 'falt' (did you mean 'fault'?)"),
        ("rules: [{fault: explode}]", "unknown fault 'explode'"),
        ("rules: [{request: 0, fault: drop}]", "rules[0].request"),
        ("ttft_ms: fast", "ttft_ms: expected a finite number >= 0"),
        ("ttft_ms: .nan", "top level.ttft_ms: expected a finite number >= 0, got nan"),
        ("tokens_per_second: .inf", "top level.tokens_per_second: expected a finite number >= 0, got inf"),
        ("tokens_per_second: -.inf", "tokens_per_second: expected a finite number >= 0, got -inf"),
        ("rules: [{ttft_ms: .nan}]", "rules[0].ttft_ms: expected a finite number >= 0, got nan"),
        ("rules: [{tokens_per_second: .inf}]", "rules[0].tokens_per_second: expected a finite number"),
        ("rules: [{fault: stall, seconds: .inf}]", "rules[0].seconds: expected a finite number"),
        ("rules: [{fault: rate_limit, retry_after: .nan}]", "rules[0].retry_after: expected a finite"),
        ("rules: [{fault: slow_first_token, ms: .inf}]", "rules[0].ms: expected a finite number"),
        ("rules: {fault: drop}", "`rules` must be a list"),
        ("rules: [fault: drop", "line 1"),
    ],
)
def test_bad_scenarios_give_one_line_errors(text: str, message: str):
    with pytest.raises(ScenarioError) as caught:
        Scenario.from_yaml(text, source="demo.yaml")
    assert message in str(caught.value) and str(caught.value).startswith("demo.yaml: ")
    assert "\n" not in str(caught.value)


def test_the_example_scenario_loads():
    example = Path(__file__).resolve().parents[2] / "engine" / "simulator" / "examples" / "faults.yaml"
    scenario = Scenario.load(example)
    assert scenario.tokens_per_second == 60 and len(scenario.rules) == 10
