"""parallel_claude and claude_batch: tasks stream at once, each on its own, and one failure loses nothing."""

from __future__ import annotations

from engine.events import Retrying, StepFinished, StepStarted, TextDelta
from tests.engine.conftest import workflow

PARALLEL = """
- name: reviews
  type: parallel_claude
  fail_fast: {fail_fast}
  claude_options:
    stream_handler: [file]
    retry_config: {{max_retries: 0}}
  prompt: "Review this from one angle:"
  parallel_tasks:
    - {{id: security, prompt: "security angle"}}
    - {{id: speed, prompt: "speed angle"}}
    - {{id: style, prompt: "style angle", output_to_file: style.md}}
"""


async def test_parallel_tasks_stream_at_the_same_time_each_to_its_own_file(harness_factory, tmp_path):
    async with harness_factory({"answer_tokens": 60}, tokens_per_second=200) as h:
        result = await h.run(workflow(PARALLEL.format(fail_fast="false"), tmp=tmp_path))
    assert result.status == "succeeded"
    ids = ["reviews.security", "reviews.speed", "reviews.style"]
    # All three were streaming before any of them finished.
    first_finish = next(i for i, e in enumerate(h.events) if type(e) is StepFinished and e.step_id in ids)
    streaming_before = {e.step_id for e in h.events[:first_finish] if type(e) is TextDelta}
    assert streaming_before == set(ids)
    [parent_start] = h.of(StepStarted, "reviews")
    assert parent_start.tasks == tuple(ids)
    for step_id in ids:
        text = "".join(e.text for e in h.of(TextDelta, step_id))
        assert (result.run_dir / "streams" / f"{step_id}.txt").read_text(encoding="utf-8") == text
        assert result.tasks[step_id].text == text
    assert (result.run_dir / "style.md").read_text(encoding="utf-8") == result.tasks["reviews.style"].text
    parent = result.steps["reviews"]
    assert all(f"## {name}" in parent.text for name in ("security", "speed", "style"))
    assert parent.data["speed"]["status"] == "succeeded"
    assert parent.metrics.output_tokens == sum(result.tasks[i].metrics.output_tokens for i in ids)


async def test_one_failed_task_does_not_lose_the_others(harness_factory, tmp_path):
    rules = [{"prompt_contains": "speed angle", "fault": "error_event", "after_tokens": 10}]
    async with harness_factory({"answer_tokens": 60, "rules": rules}, tokens_per_second=200) as h:
        result = await h.run(workflow(PARALLEL.format(fail_fast="false"), tmp=tmp_path))
    assert result.tasks["reviews.speed"].status == "failed"
    assert result.tasks["reviews.security"].status == "succeeded"
    assert result.tasks["reviews.style"].status == "succeeded"
    assert result.steps["reviews"].status == "failed"
    assert "reviews.speed failed" in result.steps["reviews"].reason
    assert result.exit_code == 1


async def test_fail_fast_interrupts_the_other_tasks_at_once(harness_factory, tmp_path):
    rules = [
        {"prompt_contains": "speed angle", "fault": "error_event", "after_tokens": 5},
        {"answer_tokens": 3000},
    ]
    async with harness_factory({"rules": rules}, tokens_per_second=100) as h:
        result = await h.run(workflow(PARALLEL.format(fail_fast="true"), tmp=tmp_path))
        await h.sim.wait_for_requests(3, timeout=10)
        log = {record.number: record for record in h.sim.log}
    assert result.tasks["reviews.speed"].status == "failed"
    for other in ("reviews.security", "reviews.style"):
        assert result.tasks[other].status == "interrupted"
        assert "fail_fast" in result.tasks[other].reason
    hung_up = [record for record in log.values() if record.hung_up]
    assert len(hung_up) == 2 and all(record.output_tokens < 3000 for record in hung_up)


async def test_a_batch_runs_its_items_under_the_concurrency_limit(harness_factory, tmp_path):
    steps = """
    - name: summaries
      type: claude_batch
      items: [apples, pears, plums, cherries, grapes]
      batch_config: {max_parallel: 2}
      claude_options: {stream_handler: buffer}
      prompt: "Describe {{item}} in one paragraph."
    """
    async with harness_factory({"answer_tokens": 30}, tokens_per_second=300) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    assert result.status == "succeeded"
    assert len(result.tasks) == 5
    running, most = 0, 0
    for event in h.events:
        if type(event) is StepStarted and event.parent_id == "summaries":
            running += 1
            most = max(most, running)
        elif type(event) is StepFinished and event.step_id.startswith("summaries."):
            running -= 1
    assert most == 2
    prompts = sorted(result.tasks)
    assert prompts == [f"summaries.item-{n}" for n in range(1, 6)]
    assert "## item-3" in result.steps["summaries"].text


async def test_robust_falls_back_to_the_fallback_model_after_an_overload_storm(harness_factory, tmp_path):
    steps = """
    - name: robust
      type: claude_robust
      retry_config: {max_retries: 2, base_delay_ms: 1, max_delay_ms: 5}
      claude_options: {model: claude-sonnet-4-6, fallback_model: claude-haiku-4-5, stream_handler: file}
      prompt: "Answer carefully"
    """
    rules = [{"model": "claude-sonnet-4-6", "fault": "overloaded"}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    robust = result.steps["robust"]
    assert robust.status == "succeeded"
    retries = h.of(Retrying, "robust")
    assert [r.attempt for r in retries] == [2, 3, 4]
    assert "falling back to claude-haiku-4-5" in retries[-1].reason
    assert [r.model for r in h.sim.log] == ["claude-sonnet-4-6"] * 3 + ["claude-haiku-4-5"]
    assert (result.run_dir / "streams" / "robust.txt").read_text(encoding="utf-8") == robust.text


async def test_robust_without_a_fallback_fails_after_its_retries(harness_factory, tmp_path):
    steps = """
    - name: robust
      type: claude_robust
      retry_config: {max_retries: 1, base_delay_ms: 1, max_delay_ms: 5}
      prompt: "Answer carefully"
    """
    async with harness_factory({"rules": [{"fault": "server_error"}]}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    assert result.steps["robust"].status == "failed"
    assert "server_error" in result.steps["robust"].reason
    assert len(h.sim.log) == 2
