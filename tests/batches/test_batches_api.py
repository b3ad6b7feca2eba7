"""A batch step on the Message Batches API: submitted, polled, its results read into every item's result."""

from __future__ import annotations

import json

from engine.events import BatchProgress, StepFinished, TextDelta, Usage
from engine.pricing import cost_usd
from engine.workflow.presets import DEFAULT_MODEL
from tests.batches.conftest import recorded_items, workflow


def batch_step(items: int, config: str = "", options: str = "stream_handler: buffer") -> str:
    listed = ", ".join(f"thing {n}" for n in range(1, items + 1))
    return f"""
- name: sums
  type: claude_batch
  prompt: "Summarize {{{{item}}}}"
  items: [{listed}]
  batch_config: {{api: batches, poll_interval_seconds: 0.05{config}}}
  claude_options: {{{options}}}
"""


async def test_a_thousand_items_complete_with_every_result_in_the_record(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 200, "answer_tokens": 8}) as h:
        result = await h.run(workflow(batch_step(1000), tmp=tmp_path))
        creates = [r for r in h.sim.log if r.method == "POST" and r.path == "/v1/messages/batches"]
        batch = next(iter(h.sim.batches.batches.values()))
    assert result.status == "succeeded", result.reason
    assert len(creates) == 1 and len(batch.items) == 1000
    assert not [r for r in h.sim.log if r.path == "/v1/messages"]  # nothing streamed
    record = json.loads((result.run_dir / "run.json").read_text())
    items = recorded_items(result)
    assert list(items) == [f"sums.item-{n:04d}" for n in range(1, 1001)]
    for item in items.values():
        assert item["status"] == "succeeded" and item["text"] and item["attempts"] == 1
    assert record["steps"]["sums"]["items"]["count"] == record["steps"]["sums"]["items"]["succeeded"] == 1000
    data = result.steps["sums"].data  # what {{steps.sums.data.item-0007.text}} reads
    assert len(data) == 1000 and data["item-0007"] == {
        "status": "succeeded",
        "reason": "",
        "text": items["sums.item-0007"]["text"],
    }
    assert not result.tasks  # the items are not held one StepResult each
    assert record["steps"]["sums"]["batches"][batch.id]["status"] == "ended"
    assert record["steps"]["sums"]["batches"][batch.id]["succeeded"] == 1000
    # Priced at the batch price: half of what the same tokens cost through the Messages API.
    usage = h.of(Usage, "sums.item-0001")[0]
    assert usage.cost_usd == cost_usd(usage.model, usage.input_tokens, usage.output_tokens, batch=True)
    total = sum(i["cost_usd"] for i in items.values())
    assert abs(result.steps["sums"].metrics.cost_usd - total) < 1e-9
    assert abs(record["steps"]["sums"]["cost_usd"] - total) < 1e-6
    progress = h.of(BatchProgress, "sums")
    assert progress[0].status == "in_progress" and progress[-1].status == "ended"
    text = "".join(e.text for e in h.of(TextDelta, "sums.item-0007"))
    assert text == items["sums.item-0007"]["text"]


async def test_an_item_answers_what_the_messages_api_would(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 10}) as h:
        result = await h.run(
            workflow(batch_step(2, options="stream_handler: file, max_tokens: 300"), tmp=tmp_path)
        )
        answer = await h.provider.client.messages.create(
            model=DEFAULT_MODEL,
            max_tokens=300,
            messages=[{"role": "user", "content": "Summarize thing 1"}],
        )
    assert recorded_items(result)["sums.item-1"]["text"] == answer.content[0].text
    stream_file = result.run_dir / "streams" / "sums.item-1.txt"
    assert stream_file.read_text(encoding="utf-8") == answer.content[0].text
    [finished] = h.of(StepFinished, "sums.item-1")
    assert finished.metrics.output_tokens == answer.usage.output_tokens
