"""Items that errored or expired are retried as configured; batches over the limits are split."""

from __future__ import annotations

import json

from engine.events import BatchProgress
from tests.batches.conftest import recorded_items, workflow

RETRIED = """
- name: sums
  type: claude_batch
  prompt: "Summarize {{{{item}}}}"
  items: [apples, pears, plums, cherries]
  batch_config: {{api: batches, poll_interval_seconds: 0.02, retry_as: {retry_as}}}
  claude_options:
    stream_handler: buffer
    retry_config: {{max_retries: {retries}, base_delay_ms: 1, jitter: false}}
"""
FLAKY = [
    {"custom_id": "item-2", "batch_result": "errored", "error_type": "overloaded_error", "once": True},
    {"prompt_contains": "plums", "batch_result": "expired", "once": True},
]


def creates(sim) -> int:
    return sum(1 for r in sim.log if r.method == "POST" and r.path == "/v1/messages/batches")


def streamed(sim) -> int:
    return sum(1 for r in sim.log if r.path == "/v1/messages")


async def test_errored_and_expired_items_go_again_in_a_follow_up_batch(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 20, "rules": FLAKY}) as h:
        result = await h.run(workflow(RETRIED.format(retry_as="batch", retries=2), tmp=tmp_path))
        second = list(h.sim.batches.batches.values())[1]
        assert creates(h.sim) == 2 and streamed(h.sim) == 0
    assert result.status == "succeeded", result.reason
    assert sorted(item.custom_id for item in second.items) == ["item-2", "item-3"]
    items = recorded_items(result)
    for item in ("item-2", "item-3"):
        assert items[f"sums.{item}"]["status"] == "succeeded"
        assert items[f"sums.{item}"]["metrics"]["retries"] == 1
    assert items["sums.item-1"]["metrics"]["retries"] == 0
    record = json.loads((result.run_dir / "run.json").read_text())
    assert len(record["steps"]["sums"]["batches"]) == 2


async def test_retry_as_stream_sends_them_to_the_messages_api(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 20, "rules": FLAKY}) as h:
        result = await h.run(workflow(RETRIED.format(retry_as="stream", retries=2), tmp=tmp_path))
        assert creates(h.sim) == 1 and streamed(h.sim) == 2
    assert result.status == "succeeded", result.reason
    items = recorded_items(result)
    assert items["sums.item-3"]["text"] and items["sums.item-2"]["text"]
    assert items["sums.item-3"]["status"] == "succeeded" and len(items) == 4


async def test_without_retries_they_fail_and_the_others_are_kept(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 20, "rules": FLAKY}) as h:
        result = await h.run(workflow(RETRIED.format(retry_as="batch", retries=0), tmp=tmp_path))
        assert creates(h.sim) == 1
    assert result.status == "failed" and result.exit_code == 1
    items = recorded_items(result)
    assert items["sums.item-2"]["status"] == "failed"
    assert "overloaded_error" in (items["sums.item-2"]["error"] or "")
    assert items["sums.item-3"]["reason"] == "timeout"  # expired
    assert items["sums.item-1"]["status"] == items["sums.item-4"]["status"] == "succeeded"
    assert "sums.item-2 failed" in result.steps["sums"].reason


async def test_an_invalid_item_errors_alone_and_is_not_retried(harness_factory, tmp_path):
    steps = """
    - name: sums
      type: claude_batch
      tasks:
        - {id: good, prompt: "Summarize this"}
        - {id: bad, prompt: "Summarize that", claude_options: {model: " "}}
      batch_config: {api: batches, poll_interval_seconds: 0.02}
      claude_options: {stream_handler: buffer, retry_config: {max_retries: 3, base_delay_ms: 1}}
    """
    async with harness_factory({"batch_processing_ms": 20}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
        assert creates(h.sim) == 1
    items = recorded_items(result)
    assert items["sums.good"]["status"] == "succeeded"
    assert items["sums.bad"]["status"] == "failed"
    assert "invalid_request_error" in (items["sums.bad"]["error"] or "")


SPLIT = """
- name: sums
  type: claude_batch
  prompt: "Summarize {{{{item}}}}"
  items: [{items}]
  batch_config: {{api: batches, poll_interval_seconds: 0.02, {limit}}}
  claude_options: {{stream_handler: buffer}}
"""


async def test_a_batch_over_the_request_limit_is_split(harness_factory, tmp_path):
    items = ", ".join(f"thing {n}" for n in range(25))
    # The simulator refuses more than 10 requests in a batch, as the API refuses more than 100,000.
    scenario = {"batch_processing_ms": 20, "batch_max_requests": 10}
    async with harness_factory(scenario) as h:
        result = await h.run(
            workflow(SPLIT.format(items=items, limit="max_batch_requests: 10"), tmp=tmp_path)
        )
        sizes = [len(batch.items) for batch in h.sim.batches.batches.values()]
    assert result.status == "succeeded", result.reason
    assert sizes == [10, 10, 5]
    assert len({e.batch_id for e in h.of(BatchProgress, "sums")}) == 3
    assert len(recorded_items(result)) == 25


async def test_unsplit_the_simulator_refuses_it_in_one_line(harness_factory, tmp_path):
    items = ", ".join(f"thing {n}" for n in range(25))
    async with harness_factory({"batch_processing_ms": 20, "batch_max_requests": 10}) as h:
        result = await h.run(workflow(SPLIT.format(items=items, limit="max_parallel: 4"), tmp=tmp_path))
    assert result.status == "failed"
    assert "at most 10 requests" in result.steps["sums"].error


async def test_a_batch_over_the_byte_limit_is_split(harness_factory, tmp_path):
    items = ", ".join(f"thing {n} " + "x" * 100 for n in range(30))
    async with harness_factory({"batch_processing_ms": 20}) as h:
        result = await h.run(workflow(SPLIT.format(items=items, limit="max_batch_bytes: 2048"), tmp=tmp_path))
        batches = list(h.sim.batches.batches.values())
    assert result.status == "succeeded", result.reason
    assert len(batches) > 1 and sum(len(b.items) for b in batches) == 30
    for batch in batches:
        body = {"requests": [{"custom_id": i.custom_id, "params": i.params} for i in batch.items]}
        assert len(json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()) <= 2048
