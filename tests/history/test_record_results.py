"""run.json holds the results (text files, extract data, usage, attempts, fingerprints), per its schema."""

from __future__ import annotations

import json

import jsonschema

from tests.engine.conftest import workflow
from tests.history.conftest import run_schema, valid_record

EXTRACT = """
- name: facts
  type: claude_extract
  claude_options: {stream_handler: file}
  extraction_config:
    format: json
    schema:
      type: object
      required: [title, score]
      properties:
        title: {type: string}
        score: {type: integer, minimum: 1, maximum: 10}
  prompt: "Rate the film Metropolis"
- name: reviews
  type: parallel_claude
  claude_options: {stream_handler: buffer}
  parallel_tasks:
    - {id: plot, prompt: "plot angle"}
    - {id: music, prompt: "music angle"}
- name: summary
  type: claude
  claude_options: {stream_handler: buffer}
  prompt: "Summarise {{steps.facts.data.title}}"
"""


async def test_an_extract_steps_data_and_every_steps_text_are_in_the_record(harness_factory, tmp_path):
    rules = [{"prompt_contains": "Metropolis", "invalid_json_first": True}]
    async with harness_factory({"answer_tokens": 40, "rules": rules}, tokens_per_second=0) as h:
        result = await h.run(workflow(EXTRACT, tmp=tmp_path))
    assert result.status == "succeeded"
    record = valid_record(result.run_dir)
    assert record["schema_version"] == 2
    facts = record["steps"]["facts"]
    assert facts["data"] == result.steps["facts"].data and facts["data"]["title"]
    assert facts["usage"]["output_tokens"] > 0 and facts["cost_usd"] > 0
    assert facts["fingerprint"].startswith("sha256:")
    assert (result.run_dir / facts["text_file"]).read_text(encoding="utf-8") == result.steps["facts"].text
    for task_id in ("reviews.plot", "reviews.music"):
        task = record["steps"][task_id]
        assert task["parent"] == "reviews" and task["status"] == "succeeded" and task["attempts"] == 1
        assert (result.run_dir / task["text_file"]).read_text(encoding="utf-8") == result.tasks[task_id].text
    # No duplicated counters beside the metrics: one place, and it agrees with the step's result.
    assert "chunks" not in facts and "retries" not in facts
    assert facts["metrics"]["chunks"] == result.steps["facts"].metrics.chunks > 0


async def test_attempts_count_retries_and_a_stopped_step_keeps_its_partial_text(harness_factory, tmp_path):
    steps = """
    - name: shaky
      type: claude
      claude_options:
        stream_handler: buffer
        retry_config: {max_retries: 2, base_delay_ms: 1, max_delay_ms: 5}
      prompt: "shaky question"
    - name: long
      type: claude
      claude_options: {stream_handler: buffer, stop_on: ["STOP HERE"]}
      prompt: "long question"
    - name: never
      type: claude
      prompt: "never asked"
    """
    rules = [
        {"prompt_contains": "shaky", "fault": "overloaded", "times": 1},
        {"prompt_contains": "long", "reply": "Some words first. STOP HERE and more words after it."},
    ]
    async with harness_factory({"rules": rules}, tokens_per_second=0) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    record = valid_record(result.run_dir)
    assert record["steps"]["shaky"]["attempts"] == 2
    assert record["steps"]["shaky"]["metrics"]["retries"] == 1
    long = record["steps"]["long"]
    assert long["status"] == "interrupted" and "stop_on" in long["reason"]
    assert "STOP HERE" in (result.run_dir / long["text_file"]).read_text(encoding="utf-8")
    assert record["steps"]["never"]["status"] == "skipped" and record["steps"]["never"]["attempts"] == 0


def test_the_schema_rejects_a_record_that_lost_a_field():
    schema = run_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    broken = {"schema_version": 1, "run_id": "x", "workflow": "w", "status": "done"}
    errors = list(jsonschema.Draft202012Validator(schema).iter_errors(json.loads(json.dumps(broken))))
    assert errors
