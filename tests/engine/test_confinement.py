"""Writes stay in their place: stream files, output_to_file and names, whatever the workflow says."""

from __future__ import annotations

import json

import pytest

from engine.handlers import HandlerEnvironment
from engine.paths import PathRefused, confined, safe_name
from engine.workflow import load_workflow
from tests.engine.conftest import workflow

REPLY = "A short answer that is written to files."


def one_step(options: str = "", extra_keys: str = "", name: str = "answer") -> str:
    return f"""
    - name: {name}
      type: claude
      claude_options: {{stream_handler: [file, buffer]{options}}}
      prompt: "Say something"
{extra_keys}"""


@pytest.mark.parametrize("path", ["/tmp/pipeline-escape.txt", "../../escape.txt", "streams/../../escape.txt"])
async def test_a_file_handler_path_outside_the_run_folder_fails_the_step_and_writes_nothing(
    harness_factory, tmp_path, path
):
    (tmp_path / "victim.txt").write_text("keep me", encoding="utf-8")
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(
            workflow(one_step(f", stream_handler_opts: {{file: {{path: '{path}'}}}}"), tmp=tmp_path)
        )
    answer = result.steps["answer"]
    assert (answer.status, answer.reason) == ("failed", "handler")
    assert path in answer.error and result.exit_code == 1
    assert not (tmp_path / "escape.txt").exists() and not (tmp_path / "outputs" / "escape.txt").exists()
    assert h.sim.log == []  # the step failed before anything was asked (and paid for)


@pytest.mark.parametrize(
    "target", ["run.json", "events.jsonl", "streams", "spool/../run.json", "results/answer.txt"]
)
async def test_output_to_file_never_overwrites_the_record_or_leaves_the_run_folder(
    harness_factory, tmp_path, target
):
    steps = one_step(extra_keys=f"      output_to_file: '{target}'\n")
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path), HandlerEnvironment(console_enabled=False))
    answer = result.steps["answer"]
    assert (answer.status, answer.reason) == ("failed", "output"), answer.error
    record = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "failed"  # never `succeeded` for a step that could not save its answer
    assert record["steps"]["answer"]["status"] == "failed"
    assert (result.run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()[-1].startswith("{")


@pytest.mark.parametrize("target", ["../outside.md", "/tmp/x.md"])
def test_output_to_file_outside_the_run_folder_is_refused_before_anything_runs(tmp_path, target):
    path = tmp_path / "w.yaml"
    path.write_text(workflow(one_step(extra_keys=f"      output_to_file: '{target}'\n"), tmp=tmp_path))
    loaded = load_workflow(path)
    [error] = loaded.errors
    assert "output_to_file" in str(error) and "inside the run's output folder" in str(error)


async def test_a_name_of_any_length_that_validates_can_be_written(harness_factory, tmp_path):
    name = "n" * 5000
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(workflow(one_step(name=name), tmp=tmp_path))
    assert result.steps[name].status == "succeeded", result.steps[name].error
    [stream] = (result.run_dir / "streams").iterdir()
    assert stream.read_text(encoding="utf-8") == REPLY and len(stream.name) <= 130


def test_safe_names_are_unique_and_short():
    assert safe_name("essay") == "essay" and safe_name("fan.t1") == "fan.t1"
    assert safe_name("../../etc") != safe_name("etc") and "/" not in safe_name("a/b")
    assert safe_name("x" * 300) != safe_name("x" * 301) and len(safe_name("x" * 300)) <= 120
    assert safe_name("..") not in ("..", ".", "")


def test_confined_refuses_what_is_outside_or_the_record(tmp_path):
    (tmp_path / "folder").mkdir()
    (tmp_path / "link").symlink_to("/etc")
    assert confined(tmp_path, "a/b.txt", "x") == tmp_path.resolve() / "a" / "b.txt"
    bad_paths = ("/etc/passwd", "../x", "link/passwd", "run.json", "events.jsonl", "folder", ".")
    for bad in (*bad_paths, "results", "results/answer.txt", "results/s.items.jsonl", "x/../results/y"):
        with pytest.raises(PathRefused):
            confined(tmp_path, bad, "x")
