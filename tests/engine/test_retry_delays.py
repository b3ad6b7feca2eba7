"""Waits between attempts are bounded: the server's `retry-after` and the backoff are capped by
`max_delay_ms` (and a hard ceiling), and values that are not finite numbers are ignored."""

from __future__ import annotations

import math

import pytest

from engine.events import Retrying
from engine.retry import MAX_DELAY_CEILING_S, RetryPolicy
from tests.engine.conftest import workflow


@pytest.mark.parametrize("retry_after", [1e12, math.inf])
def test_a_huge_retry_after_is_capped_by_max_delay(retry_after):
    policy = RetryPolicy(max_delay_ms=2_000, jitter=False)
    assert policy.delay_s(1, retry_after) <= 2.0


def test_a_retry_after_not_over_the_cap_still_wins_over_the_backoff():
    policy = RetryPolicy(base_delay_ms=100, max_delay_ms=5_000, jitter=False)
    assert policy.delay_s(1, 3.0) == 3.0
    assert policy.delay_s(1, math.nan) == pytest.approx(0.1)  # not a number: the backoff
    assert policy.delay_s(1, -5.0) == pytest.approx(0.1)


@pytest.mark.parametrize("backoff", ["exponential", "linear", "fixed"])
def test_backoff_never_exceeds_max_delay_or_the_ceiling(backoff):
    policy = RetryPolicy(backoff=backoff, base_delay_ms=1e15, max_delay_ms=1e18, jitter=False)
    for attempt in (1, 2, 50, 5_000):  # 2**4999 would overflow a float
        assert policy.delay_s(attempt) <= MAX_DELAY_CEILING_S
    unbounded = RetryPolicy(base_delay_ms=math.inf, max_delay_ms=math.nan, jitter=False)
    assert unbounded.delay_s(3, 1e12) <= MAX_DELAY_CEILING_S


@pytest.mark.timeout(60)
async def test_a_server_asking_to_wait_10_to_the_12_seconds_is_retried_after_max_delay(
    harness_factory, tmp_path
):
    steps = """
    - name: answer
      type: claude
      claude_options:
        retry_config: {max_retries: 1, base_delay_ms: 10, max_delay_ms: 50}
      prompt: "Explain retries"
    """
    rules = [{"times": 1, "fault": "rate_limit", "retry_after": 1e12}, {"reply": "done"}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    assert result.steps["answer"].status == "succeeded", result.steps["answer"].error
    [retry] = h.of(Retrying, "answer")
    assert retry.delay_s <= 0.05
