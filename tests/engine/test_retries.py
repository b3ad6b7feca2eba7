"""Retries that survive streaming: every fault of the simulator's script is retried, or fails cleanly."""

from __future__ import annotations

import pytest

from engine.events import Retrying, TextDelta, Usage
from engine.retry import RetryPolicy
from tests.engine.conftest import workflow

REPLY = "".join(f"Sentence number {n} of a reply that is streamed in small chunks.\n" for n in range(30))

FAULTS = {
    "rate_limit": {"fault": "rate_limit", "retry_after": 0},
    "overloaded": {"fault": "overloaded"},
    "server_error": {"fault": "server_error"},
    "error_event": {"fault": "error_event", "after_tokens": 20},
    "drop": {"fault": "drop", "after_tokens": 20},
    "stall": {"fault": "stall", "after_tokens": 20, "seconds": 30},
    "cut": {"fault": "cut", "after_tokens": 20},
}
CLASS = {
    "rate_limit": "rate_limit",
    "overloaded": "overloaded",
    "server_error": "server_error",
    "error_event": "overloaded",
    "drop": "connection",
    "stall": "timeout",
    "cut": "incomplete_stream",
}


def step(retries: int) -> str:
    return f"""
    - name: answer
      type: claude
      claude_options:
        stream_handler: [file, buffer]
        idle_timeout_seconds: 0.5
        retry_config: {{max_retries: {retries}, base_delay_ms: 10, max_delay_ms: 50}}
      prompt: "Explain retries"
    """


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_is_retried_and_leaves_no_duplicated_text(harness_factory, tmp_path, fault):
    rules = [{"times": 1, "reply": REPLY, **FAULTS[fault]}, {"reply": REPLY}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(step(2), tmp=tmp_path))
    answer = result.steps["answer"]
    assert answer.status == "succeeded", (answer.reason, answer.error)
    [retry] = h.of(Retrying, "answer")
    assert retry.attempt == 2 and retry.max_attempts == 3
    assert retry.reason.startswith(CLASS[fault])
    assert answer.text == REPLY
    assert (result.run_dir / "streams" / "answer.txt").read_text(encoding="utf-8") == REPLY
    assert answer.metrics.retries == 1
    assert len(h.sim.log) == 2


@pytest.mark.parametrize("fault", FAULTS)
async def test_a_fault_without_retries_fails_cleanly(harness_factory, tmp_path, fault):
    async with harness_factory({"rules": [{"reply": REPLY, **FAULTS[fault]}]}) as h:
        result = await h.run(workflow(step(0), tmp=tmp_path))
    answer = result.steps["answer"]
    expected = "interrupted" if fault == "stall" else "failed"  # a stall is the idle timeout stopping it
    assert answer.status == expected, (answer.reason, answer.error)
    assert result.exit_code == (3 if fault == "stall" else 1)  # an idle timeout is a guard: exit 3
    assert not h.of(Retrying)
    # Whatever arrived before the fault is kept, in the result and the file alike.
    streamed = "".join(e.text for e in h.of(TextDelta, "answer"))
    assert answer.text == streamed
    assert (result.run_dir / "streams" / "answer.txt").read_text(encoding="utf-8") == streamed


async def test_tokens_and_cost_equal_the_simulators_usage(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(workflow(step(0), tmp=tmp_path))
        reference = await h.provider.client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=4096,
            messages=[{"role": "user", "content": "Explain retries"}],
        )
    metrics = result.steps["answer"].metrics
    assert metrics.input_tokens == reference.usage.input_tokens
    assert metrics.output_tokens == reference.usage.output_tokens
    expected_cost = (reference.usage.input_tokens * 3 + reference.usage.output_tokens * 15) / 1e6
    assert metrics.cost_usd == pytest.approx(expected_cost)
    final = h.of(Usage, "answer")[-1]
    assert final.output_tokens == reference.usage.output_tokens
    assert metrics.chunks == len(h.of(TextDelta, "answer"))
    assert metrics.ttft_s is not None and metrics.ttft_s <= metrics.duration_s


async def test_without_retry_config_the_stated_default_policy_retries_a_stall(harness_factory, tmp_path):
    plain = """
    - name: answer
      type: claude
      claude_options: {stream_handler: buffer, idle_timeout_seconds: 0.3}
      prompt: "Explain retries"
    """
    rules = [{"times": 1, "reply": REPLY, **FAULTS["stall"]}, {"reply": REPLY}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(plain, tmp=tmp_path))
    answer = result.steps["answer"]
    assert answer.status == "succeeded" and answer.text == REPLY
    [retry] = h.of(Retrying, "answer")
    default = RetryPolicy()
    assert retry.max_attempts == default.max_retries + 1
    assert retry.reason.startswith("timeout: idle")


def test_the_schema_states_the_default_policy_the_engine_applies():
    from engine.workflow.model import ClaudeOptions

    description = ClaudeOptions.model_fields["retry_config"].description or ""
    default = RetryPolicy()
    assert f"{default.max_retries} retries of every failure class" in description
    assert all(failure in description for failure in default.retry_on)
    delays = f"from {default.base_delay_ms:g} ms up to {default.max_delay_ms / 1000:g} s"
    assert f"{default.backoff} backoff {delays}" in description
    assert "a stall too" in description
