"""Resume: steps that succeeded with unchanged inputs are reused, the rest run again (see the request log)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from engine.events import TextDelta
from engine.resume import ResumeSource
from engine.sessions import load_session
from tests.engine.conftest import workflow
from tests.history.conftest import valid_record
from tui.cli import main as cli
from tui.summary import summary_lines

MODELS = {"first": "claude-haiku-4-5", "second": "claude-sonnet-4-5", "third": "claude-opus-4-1"}


def three_steps(second_prompt: str = "Go on about rivers") -> str:
    return f"""
    - name: first
      type: claude_session
      session_config: {{session_name: chat, continue_on_restart: false}}
      claude_options: {{model: {MODELS["first"]}, stream_handler: buffer}}
      prompt: "Tell me about rivers"
    - name: second
      type: claude_session
      session_config: {{session_name: chat, continue_on_restart: false}}
      claude_options: {{model: {MODELS["second"]}, stream_handler: [buffer, file]}}
      prompt: "{second_prompt}"
    - name: third
      type: claude
      claude_options: {{model: {MODELS["third"]}, stream_handler: buffer}}
      prompt: "Summarise this: {{{{steps.first.text}}}}"
    """


def start(h, text: str, resume: ResumeSource | None = None):
    handle, _ = h.start(text, resume=resume)
    return handle


async def test_resume_after_a_stop_at_step_2_of_3_reruns_only_steps_2_and_3(harness_factory, tmp_path):
    long = [{"prompt_contains": "Go on about", "answer_tokens": 3000}]
    async with harness_factory({"rules": long, "answer_tokens": 20}, tokens_per_second=300) as h:
        handle = start(h, workflow(three_steps(), tmp=tmp_path))
        for _ in range(500):
            if any(isinstance(e, TextDelta) and e.step_id == "second" for e in h.events):
                break
            await asyncio.sleep(0.01)
        handle.interrupt_all("interrupted by user")
        stopped = await handle
        assert [r.model for r in h.sim.log] == [MODELS["first"], MODELS["second"]]
    assert stopped.status == "interrupted"
    assert any("pipeline resume" in line for line in summary_lines(stopped))

    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        resumed = await start(h, workflow(three_steps(), tmp=tmp_path), ResumeSource.load(stopped.run_dir))
        assert [r.model for r in h.sim.log] == [MODELS["second"], MODELS["third"]]
    assert resumed.status == "succeeded" and resumed.run_dir != stopped.run_dir
    first = resumed.steps["first"]
    assert first.reused_from == stopped.run_id and first.text == stopped.steps["first"].text
    assert resumed.cost_usd == sum(resumed.steps[s].metrics.cost_usd for s in ("second", "third"))
    record = valid_record(resumed.run_dir)
    assert record["resumed_from"] == stopped.run_id
    assert record["steps"]["first"]["reused_from"] == stopped.run_id
    assert record["steps"]["second"]["reused_from"] is None
    assert (resumed.run_dir / "results/first.txt").read_text(encoding="utf-8") == first.text
    assert any("reused" in line and line.startswith("first") for line in summary_lines(resumed))
    # The session carried on from the reused first turn, without the broken-off second one twice.
    session = load_session(Path(h.load(workflow(three_steps(), tmp=tmp_path)).workspace_dir), "chat")
    assert [m["role"] for m in session["messages"]] == ["user", "assistant", "user", "assistant"]
    assert session["messages"][1]["content"][0]["text"] == first.text
    assert session["run_id"] == resumed.run_id


async def test_a_changed_prompt_invalidates_the_reuse_of_that_step_only(harness_factory, tmp_path):
    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        done = await start(h, workflow(three_steps(), tmp=tmp_path))
        assert done.status == "succeeded" and len(h.sim.log) == 3
    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        again = await start(h, workflow(three_steps(), tmp=tmp_path), ResumeSource.load(done.run_dir))
        assert h.sim.log == []  # nothing changed: nothing asked again
        assert all(r.reused_from == done.run_id for r in again.steps.values())
    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        changed = workflow(three_steps("Go on about lakes"), tmp=tmp_path)
        edited = await start(h, changed, ResumeSource.load(again.run_dir))
        assert [r.model for r in h.sim.log] == [MODELS["second"]]
    assert edited.steps["second"].reused_from is None
    assert edited.steps["first"].reused_from == edited.steps["third"].reused_from == again.run_id


def test_pipeline_resume_on_the_command_line(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "flow.yaml"
    path.write_text(workflow(three_steps(), tmp=tmp_path), encoding="utf-8")
    faults = tmp_path / "faults.yaml"
    faults.write_text(
        "rules:\n  - {prompt_contains: Go on about, fault: server_error, times: 10}\n", encoding="utf-8"
    )
    argv = ["--no-tui", "--provider", "simulator", "--tokens-per-second", "0"]
    assert cli(["run", str(path), "--scenario", str(faults), *argv]) == 1
    out = capsys.readouterr().out
    [command] = [line.split(": ", 1)[1] for line in out.splitlines() if line.startswith("resume it: ")]
    run_ref = command.split()[-1]
    assert cli(["resume", run_ref, *argv]) == 0
    out = capsys.readouterr().out
    assert "reused (run" in out and "run succeeded" in out
    runs = sorted((tmp_path / "outputs").iterdir())
    records = [json.loads((r / "run.json").read_text(encoding="utf-8")) for r in runs if r.is_dir()]
    assert {r["status"] for r in records} == {"failed", "succeeded"}
    assert cli(["resume", "nope", *argv]) == 2
    assert "no run 'nope'" in capsys.readouterr().err


async def test_a_parallel_step_is_reused_with_its_tasks(harness_factory, tmp_path):
    steps = """
    - name: angles
      type: parallel_claude
      claude_options: {stream_handler: buffer}
      parallel_tasks:
        - {id: plot, prompt: "plot angle", output_to_file: plot.md}
        - {id: music, prompt: "music angle"}
    - name: verdict
      type: claude
      claude_options: {stream_handler: buffer}
      prompt: "Weigh {{steps.angles.data.plot.text}}"
    """
    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        first = await start(h, workflow(steps, tmp=tmp_path))
    async with harness_factory({"answer_tokens": 20}, tokens_per_second=0) as h:
        again = await start(h, workflow(steps, tmp=tmp_path), ResumeSource.load(first.run_dir))
        assert h.sim.log == []
    assert again.status == "succeeded"
    assert again.tasks["angles.plot"].text == first.tasks["angles.plot"].text
    assert again.steps["angles"].data == first.steps["angles"].data
    assert (again.run_dir / "plot.md").read_text(encoding="utf-8") == first.tasks["angles.plot"].text
    record = valid_record(again.run_dir)
    assert record["steps"]["angles.music"]["reused_from"] == first.run_id
    assert record["steps"]["angles.music"]["parent"] == "angles"
