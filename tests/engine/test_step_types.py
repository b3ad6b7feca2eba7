"""claude_session and claude_extract through the real SDK against the simulator."""

from __future__ import annotations

import json

from engine.events import TurnStarted
from engine.sessions import session_path
from tests.engine.conftest import workflow

SCHEMA = """
          type: object
          required: [title, score, tags]
          properties:
            title: {type: string}
            score: {type: integer, minimum: 1, maximum: 10}
            tags: {type: array, items: {type: string}}
"""


def extract_step(fmt: str = "json", attempts: int = 3) -> str:
    return f"""
    - name: facts
      type: claude_extract
      claude_options: {{stream_handler: file}}
      extraction_config:
        format: {fmt}
        max_attempts: {attempts}
        schema:{SCHEMA}
      prompt: "Rate the film Metropolis"
    - name: use
      type: claude
      claude_options: {{stream_handler: buffer}}
      prompt: "The title was {{{{steps.facts.data.title}}}}"
    """


async def test_extract_parses_and_validates_json_against_the_schema(harness_factory, tmp_path):
    async with harness_factory() as h:
        result = await h.run(workflow(extract_step(), tmp=tmp_path))
    facts = result.steps["facts"]
    assert facts.status == "succeeded", facts.error
    assert set(facts.data) >= {"title", "score", "tags"} and 1 <= facts.data["score"] <= 10
    assert json.loads(facts.text) == facts.data
    # A later step reached into the data.
    assert result.steps["use"].status == "succeeded"


async def test_an_invalid_answer_is_re_asked_with_the_error(harness_factory, tmp_path):
    async with harness_factory(
        {"rules": [{"prompt_contains": "Metropolis", "invalid_json_first": True}]}
    ) as h:
        result = await h.run(workflow(extract_step(), tmp=tmp_path))
    facts = result.steps["facts"]
    assert facts.status == "succeeded", facts.error
    assert len(h.of(TurnStarted, "facts")) == 2
    assert len(h.sim.log) == 3  # two for `facts`, one for `use`
    assert json.loads(facts.text) == facts.data


async def test_extraction_fails_after_max_attempts(harness_factory, tmp_path):
    rules = [{"reply": "I would rather not answer in JSON."}]
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(extract_step(attempts=2), tmp=tmp_path))
    facts = result.steps["facts"]
    assert facts.status == "failed"
    assert "no valid answer after 2 attempts" in facts.error
    assert result.steps["use"].status == "skipped"


SESSION = """
- name: first
  type: claude_session
  session_config: {{session_name: tutor, max_turns_kept: {keep}}}
  claude_options: {{stream_handler: buffer}}
  prompt: "Teach me about tides"
- name: second
  type: claude_session
  session_config: {{session_name: tutor, max_turns_kept: {keep}}}
  claude_options: {{stream_handler: buffer}}
  prompt: "And what about waves?"
"""


async def test_a_session_is_continued_by_later_steps_and_later_runs(harness_factory, tmp_path):
    async with harness_factory() as h:
        first = await h.run(workflow(SESSION.format(keep=10), tmp=tmp_path))
        assert first.status == "succeeded"
        stored = json.loads(session_path(tmp_path / "ws", "tutor").read_text())
        assert [m["role"] for m in stored["messages"]] == ["user", "assistant", "user", "assistant"]
        assert stored["messages"][1]["content"][0]["text"] == first.steps["first"].text
        second = await h.run(workflow(SESSION.format(keep=10), tmp=tmp_path))
    assert second.status == "succeeded"
    stored = json.loads(session_path(tmp_path / "ws", "tutor").read_text())
    assert len(stored["messages"]) == 8  # the second run continued the first


async def test_max_turns_kept_trims_history(harness_factory, tmp_path):
    async with harness_factory() as h:
        await h.run(workflow(SESSION.format(keep=1), tmp=tmp_path))
    stored = json.loads(session_path(tmp_path / "ws", "tutor").read_text())
    assert [m["content"] for m in stored["messages"] if m["role"] == "user"] == ["And what about waves?"]


async def test_a_corrupt_session_file_is_a_clear_error(harness_factory, tmp_path):
    path = session_path(tmp_path / "ws", "tutor")
    path.parent.mkdir(parents=True)
    path.write_text("{not json", encoding="utf-8")
    async with harness_factory() as h:
        result = await h.run(workflow(SESSION.format(keep=3), tmp=tmp_path))
    first = result.steps["first"]
    assert first.status == "failed"
    assert "is corrupt" in first.error and str(path) in first.error
    assert path.read_text(encoding="utf-8") == "{not json"  # left as it was for the user to inspect


async def test_post_processing_extracts_code_blocks_and_links(harness_factory, tmp_path):
    reply = "Use this:\n\n```python\nprint('hi')\n```\n\n- see https://example.org/docs for more\n"
    steps = """
    - name: notes
      type: claude_extract
      claude_options: {stream_handler: buffer}
      extraction_config:
        format: markdown
        post_processing: [extract_code_blocks, extract_links, extract_key_points]
      prompt: "Show me some code"
    """
    async with harness_factory({"rules": [{"reply": reply}]}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    data = result.steps["notes"].data
    assert data["code_blocks"] == [{"language": "python", "code": "print('hi')\n"}]
    assert data["links"] == ["https://example.org/docs"]
    assert data["key_points"] == ["see https://example.org/docs for more"]
    assert data["text"] == reply
