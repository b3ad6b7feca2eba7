"""`pipeline runs` and `pipeline show` on real runs: succeeded, failed, stopped, forced quit, broken."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

import pytest

from engine.events import TextDelta
from engine.history import INDEX_NAME
from tests.engine.conftest import workflow
from tests.history.conftest import valid_record
from tui.cli import main as cli

STEPS = """
- name: facts
  type: claude_extract
  claude_options: {stream_handler: buffer}
  extraction_config:
    format: json
    schema: {type: object, required: [title], properties: {title: {type: string}}}
  prompt: "Rate the film Metropolis"
- name: essay
  type: claude
  claude_options: {stream_handler: buffer}
  prompt: "Write an essay about {{vars.topic}}"
"""


async def wait_for_text(h, step_id: str) -> None:
    for _ in range(500):
        if any(isinstance(e, TextDelta) and e.step_id == step_id for e in h.events):
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{step_id} streamed nothing")


async def make_runs(harness_factory, tmp_path: Path) -> dict[str, Path]:
    """One run of each ending, oldest first: succeeded, failed, stopped, forced quit."""
    rules = [{"prompt_contains": "volcanoes", "fault": "server_error"},
             {"prompt_contains": "glaciers", "answer_tokens": 3000}]
    runs: dict[str, Path] = {}
    async with harness_factory({"rules": rules, "answer_tokens": 30}, tokens_per_second=0) as h:
        for ending, topic in (("succeeded", "rivers"), ("failed", "volcanoes")):
            result = await h.run(workflow(STEPS, tmp=tmp_path, extra=f"vars: {{topic: {topic}}}\n"))
            assert result.status == ending
            runs[ending] = result.run_dir
    async with harness_factory({"rules": rules}, tokens_per_second=300) as h:
        for ending in ("stopped", "forced"):
            handle, _ = h.start(workflow(STEPS, tmp=tmp_path, extra="vars: {topic: glaciers}\n"))
            await wait_for_text(h, "essay")
            if ending == "forced":
                handle.record_forced_quit("forced quit (Ctrl+C twice)")
            handle.interrupt_all("interrupted by user (Ctrl+C)")
            runs[ending] = (await handle).run_dir
            h.events.clear()
    return runs


async def test_runs_lists_every_ending_newest_first_and_show_prints_a_run(harness_factory, tmp_path, capsys):
    runs = await make_runs(harness_factory, tmp_path)
    out_dir = tmp_path / "outputs"
    for run_dir in runs.values():
        valid_record(run_dir)
    broken = out_dir / "20000101-000000-dead"
    broken.mkdir()
    (broken / "run.json").write_text('{"run_id": "20000101-000000-dead", "steps": {', encoding="utf-8")
    empty = out_dir / "20000101-000001-beef"
    empty.mkdir()
    (empty / "run.json").write_text("", encoding="utf-8")
    (out_dir / "not-a-run").mkdir()
    for folder in (broken, empty):  # a broken record is listed by its file's time: make theirs old
        os.utime(folder / "run.json", (946684800, 946684800))

    assert cli(["runs", "--output-dir", str(out_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["run", "workflow", "status", "started", "time", "cost", "steps"]
    ids = [line.split()[0] for line in lines[1:]]
    newest_first = [runs[e].name for e in ("forced", "stopped", "failed", "succeeded")]
    assert ids[:4] == newest_first and set(ids[4:]) == {broken.name, empty.name}
    by_id = {line.split()[0]: line for line in lines[1:]}
    assert " succeeded " in by_id[runs["succeeded"].name] and "2/2" in by_id[runs["succeeded"].name]
    assert " failed " in by_id[runs["failed"].name] and "1/2" in by_id[runs["failed"].name]
    assert " interrupted " in by_id[runs["stopped"].name]
    assert " forced quit " in by_id[runs["forced"].name]
    assert " broken " in by_id[broken.name] and " broken " in by_id[empty.name]

    assert cli(["show", runs["failed"].name, "--output-dir", str(out_dir)]) == 0
    shown = capsys.readouterr().out
    assert "failed" in shown and "facts" in shown and "essay" in shown and "server_error" in shown

    # A step's text, an extract step's data, by a unique prefix of the run id or by its folder.
    succeeded = runs["succeeded"]
    record = json.loads((succeeded / "run.json").read_text(encoding="utf-8"))
    assert cli(["show", str(succeeded), "essay"]) == 0
    assert capsys.readouterr().out.rstrip("\n") == (succeeded / "results/essay.txt").read_text().rstrip("\n")
    assert cli(["show", str(succeeded), "facts"]) == 0
    assert json.loads(capsys.readouterr().out) == record["steps"]["facts"]["data"]


async def test_bad_references_are_one_line_errors(harness_factory, tmp_path, capsys):
    out_dir = tmp_path / "outputs"
    for name in ("20260101-000000-aaaa", "20260101-000000-aaab"):
        (out_dir / name).mkdir(parents=True)
        (out_dir / name / "run.json").write_text("{}", encoding="utf-8")
    cases = [
        (["show", "2026", "--output-dir", str(out_dir)], "ambiguous"),
        (["show", "nope", "--output-dir", str(out_dir)], "no run 'nope'"),
        (["show", "20260101-000000-aaaa", "x", "--output-dir", str(out_dir)], "no step 'x'"),
        (["runs", "--output-dir", str(tmp_path / "missing")], "no such folder"),
    ]
    for argv, message in cases:
        assert cli(argv) == 2
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err


def test_the_index_is_refreshed_when_a_record_changes_and_rebuilt_when_missing(tmp_path, capsys):
    out_dir = tmp_path / "outputs"

    def write(name: str, status: str, started: float) -> None:
        (out_dir / name).mkdir(parents=True, exist_ok=True)
        record = {"run_id": name, "workflow": "w", "status": status, "started_at": started, "steps": {}}
        (out_dir / name / "run.json").write_text(json.dumps(record), encoding="utf-8")

    write("a", "running", 1.0)
    write("b", "succeeded", 2.0)
    assert cli(["runs", "--output-dir", str(out_dir)]) == 0
    assert (out_dir / INDEX_NAME).exists()
    capsys.readouterr()
    write("a", "failed", 1.0)
    os.utime(out_dir / "a" / "run.json", ns=(1, 1))  # a new mtime, whatever the clock's resolution
    assert cli(["runs", "--output-dir", str(out_dir)]) == 0
    assert " failed " in capsys.readouterr().out
    (out_dir / INDEX_NAME).write_text("garbage", encoding="utf-8")
    assert cli(["runs", "--output-dir", str(out_dir)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in out[1:]] == ["b", "a"]


@pytest.mark.parametrize("content", ["", "[1, 2]", '{"steps": []}', "\xff\xfe"])
def test_show_on_a_broken_record_is_one_line(tmp_path, capsys, content):
    run_dir = tmp_path / "run"
    run_dir.mkdir()
    (run_dir / "run.json").write_bytes(content.encode("latin-1"))
    assert cli(["show", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
