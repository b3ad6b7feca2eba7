"""`x` on a batch step cancels its batch on the server; a quit leaves it running, and resume reads it."""

from __future__ import annotations

import asyncio
import json

from engine.events import BatchProgress
from engine.resume import ResumeSource
from tests.batches.conftest import recorded_items, workflow

SLOW = """
- name: sums
  type: claude_batch
  prompt: "Summarize {{item}}"
  items: [a1, a2, a3, a4, a5, a6, a7, a8, a9, b1]
  batch_config: {api: batches, poll_interval_seconds: 0.02}
  claude_options: {stream_handler: buffer}
"""


async def started_batch(h):
    """The simulator's batch once its first item is done (items finish one by one)."""
    loop = asyncio.get_running_loop()
    async with asyncio.timeout(20):
        while not h.of(BatchProgress, "sums"):
            await asyncio.sleep(0.01)
        batch = next(iter(h.sim.batches.batches.values()))
        while loop.time() < batch.done_at(0):
            await asyncio.sleep(0.01)
    return batch


async def quit_mid_batch(h, tmp_path):
    """A run quit (the whole run, not the step) once its batch is under way: its result and the batch."""
    handle, _ = h.start(workflow(SLOW, tmp=tmp_path))
    batch = await started_batch(h)
    handle.interrupt_all("quit")
    return await handle, batch


async def test_interrupting_the_step_cancels_the_batch_and_keeps_what_completed(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 4000}) as h:
        handle, _ = h.start(workflow(SLOW, tmp=tmp_path))
        batch = await started_batch(h)
        assert handle.interrupt("sums")
        result = await handle
        cancels = [r for r in h.sim.log if r.path.endswith("/cancel")]
    assert len(cancels) == 1 and cancels[0].path == f"/v1/messages/batches/{batch.id}/cancel"
    assert batch.status == "ended" and batch.counts["canceled"] > 0
    assert result.status == "interrupted" and result.exit_code == 130
    recorded = recorded_items(result)
    done = [t for t in recorded.values() if t["status"] == "succeeded"]
    canceled = [t for t in recorded.values() if t["status"] == "interrupted"]
    assert len(done) == batch.counts["succeeded"] >= 1 and len(canceled) == batch.counts["canceled"]
    assert len(recorded) == 10
    record = json.loads((result.run_dir / "run.json").read_text())
    items = {f"item-{n:02d}": recorded[f"sums.item-{n:02d}"] for n in range(1, 11)}
    assert items["item-01"]["status"] == "succeeded" and items["item-01"]["text"]
    assert items["item-10"]["status"] == "interrupted"
    assert "canceled on the server" in items["item-10"]["reason"]
    assert record["steps"]["sums"]["items"]["interrupted"] == len(canceled)
    assert record["steps"]["sums"]["batches"][batch.id]["canceled"] == batch.counts["canceled"]


async def test_a_quit_leaves_the_batch_running_and_resume_picks_it_up(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 1500}) as h:
        first, batch = await quit_mid_batch(h, tmp_path)
        assert batch.status == "in_progress"  # still running on the server
        assert not [r for r in h.sim.log if r.path.endswith("/cancel")]
        record = json.loads((first.run_dir / "run.json").read_text())
        assert list(record["steps"]["sums"]["batches"]) == [batch.id]
        item = recorded_items(first)["sums.item-01"]
        assert item["status"] == "interrupted"
        assert f"batch {batch.id} left running" in item["reason"]

        # `pipeline run --resume`: the step reads the batch it had submitted instead of a new one.
        second = await h.run(workflow(SLOW, tmp=tmp_path), resume=ResumeSource.load(first.run_dir))
        creates = [r for r in h.sim.log if r.method == "POST" and r.path == "/v1/messages/batches"]
    assert len(creates) == 1
    assert second.status == "succeeded", second.reason
    items = recorded_items(second)
    assert all(t["status"] == "succeeded" and t["text"] for t in items.values())
    assert len(items) == 10
    record = json.loads((second.run_dir / "run.json").read_text())
    assert list(record["steps"]["sums"]["batches"]) == [batch.id] and record["resumed_from"] == first.run_id


async def test_resuming_a_batch_the_server_no_longer_has_submits_it_again(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 1500}) as h:
        first, batch = await quit_mid_batch(h, tmp_path)
        del h.sim.batches.batches[batch.id]  # e.g. a new simulator process
        second = await h.run(workflow(SLOW, tmp=tmp_path), resume=ResumeSource.load(first.run_dir))
    assert second.status == "succeeded", second.reason
    assert len(h.sim.batches.batches) == 1 and batch.id not in h.sim.batches.batches
