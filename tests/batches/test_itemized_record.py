"""An `api: batches` step's items are recorded together (results/<step>.items.jsonl), and everything
that reads a run finds them there: later steps' references, `pipeline show`, the summary, resume."""

from __future__ import annotations

import json

from engine.resume import ResumeSource
from tests.batches.conftest import recorded_items, workflow
from tui.cli import main as cli
from tui.summary import summary_lines

ITEMS = ", ".join(f"thing {n}" for n in range(1, 31))
STEPS = f"""
- name: sums
  type: claude_batch
  prompt: "Summarize {{{{item}}}}"
  items: [{ITEMS}]
  batch_config: {{api: batches, poll_interval_seconds: 0.02}}
  claude_options: {{stream_handler: buffer}}
- name: follow
  type: claude
  condition: "steps.sums.data and steps.sums.status == 'succeeded'"
  prompt: "About {{{{steps.sums.data.item-07.text}}}}: {{{{steps.sums.status}}}}"
  claude_options: {{stream_handler: buffer}}
"""
RULES = [
    {"custom_id": "item-07", "reply": "SEVENTH ANSWER"},
    {"prompt_contains": "About SEVENTH ANSWER: succeeded", "reply": "GOT IT"},
]


async def test_later_steps_read_the_items_and_show_lists_them(harness_factory, tmp_path, capsys):
    async with harness_factory({"batch_processing_ms": 20, "rules": RULES}) as h:
        result = await h.run(workflow(STEPS, tmp=tmp_path))
    assert result.status == "succeeded", result.reason
    assert result.steps["follow"].text == "GOT IT"
    items = recorded_items(result)
    assert items["sums.item-07"]["text"] == "SEVENTH ANSWER" and len(items) == 30

    run = str(result.run_dir)
    assert cli(["show", run]) == 0
    shown = capsys.readouterr().out
    assert "item-01" in shown and "item-20" in shown and "item-21" not in shown
    assert "30 items: 30 succeeded" in shown and "results/sums.items.jsonl" in shown
    assert cli(["show", run, "sums.item-07"]) == 0
    assert capsys.readouterr().out == "SEVENTH ANSWER\n"
    assert cli(["show", run, "sums", "--data"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert len(data) == 30
    assert data["item-07"] == {"status": "succeeded", "reason": "", "text": "SEVENTH ANSWER"}
    assert cli(["show", run, "sums.item-99"]) == 2
    assert "no step 'sums.item-99'" in capsys.readouterr().err

    summary = "\n".join(summary_lines(result))
    assert "30 items: 30 succeeded" in summary and "item-07" not in summary


async def test_a_succeeded_batch_step_is_reused_from_its_items_file(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 20, "rules": RULES}) as h:
        first = await h.run(workflow(STEPS, tmp=tmp_path))
        h.sim.log.clear()
        second = await h.run(workflow(STEPS, tmp=tmp_path), resume=ResumeSource.load(first.run_dir))
        assert not h.sim.log  # nothing asked again: no batch, no stream
    assert second.status == "succeeded", second.reason
    assert second.steps["sums"].reused_from == first.run_id and second.steps["follow"].text == "GOT IT"
    items = recorded_items(second)
    assert len(items) == 30 and items["sums.item-07"]["text"] == "SEVENTH ANSWER"
    assert all(item["reason"] == f"reused from run {first.run_id}" for item in items.values())


async def test_a_changed_item_list_is_not_reused(harness_factory, tmp_path):
    async with harness_factory({"batch_processing_ms": 20}) as h:
        first = await h.run(workflow(STEPS, tmp=tmp_path))
        h.sim.log.clear()
        fewer = STEPS.replace(", thing 30]", "]")
        second = await h.run(workflow(fewer, tmp=tmp_path), resume=ResumeSource.load(first.run_dir))
        assert [r.path for r in h.sim.log].count("/v1/messages/batches") == 1
    assert len(recorded_items(second)) == 29


async def test_a_damaged_items_file_means_the_results_are_read_again(harness_factory, tmp_path):
    """Not reused, and not paid for again either: the earlier run's batch is read from the server."""
    async with harness_factory({"batch_processing_ms": 20}) as h:
        first = await h.run(workflow(STEPS, tmp=tmp_path))
        items_file = first.run_dir / "results" / "sums.items.jsonl"
        lines = items_file.read_text(encoding="utf-8").splitlines()
        items_file.write_text("\n".join(lines[:-1]) + "\nnot json\n", encoding="utf-8")
        h.sim.log.clear()
        second = await h.run(workflow(STEPS, tmp=tmp_path), resume=ResumeSource.load(first.run_dir))
        paths = [r.path for r in h.sim.log]
        assert "/v1/messages/batches" not in paths and paths[-1].endswith("/results")
    assert second.status == "succeeded" and second.steps["sums"].reused_from is None
    assert len(recorded_items(second)) == 30
