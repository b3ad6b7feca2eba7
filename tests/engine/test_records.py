"""Run records: run.json and events.jsonl stay consistent, also when a real process is signalled."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.engine.conftest import workflow

SECRET = "sk-ant-api03-THIS-KEY-MUST-NEVER-BE-WRITTEN"


ROOT = Path(__file__).resolve().parents[2]


def write_workflow(
    tmp_path: Path, tokens: int = 3000, handlers: str = "[console, file]", options: str = ""
) -> Path:
    (tmp_path / "long.scenario.yaml").write_text(
        f"tokens_per_second: 200\nrules:\n  - answer_tokens: {tokens}\n", encoding="utf-8"
    )
    path = tmp_path / "long.yaml"
    path.write_text(
        workflow(
            f"""
    - name: essay
      type: claude
      claude_options: {{stream_handler: {handlers}{options}}}
      prompt: "Write a long essay about lighthouses"
    - name: after
      type: claude
      prompt: "Say hello"
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    return path


def start_run(tmp_path: Path, path: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ANTHROPIC_API_KEY": SECRET, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen(
        [sys.executable, "-m", "tui.cli", "run", str(path), "--no-tui", "--provider", "simulator"],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_stream(tmp_path: Path) -> Path:
    deadline = time.monotonic() + 90  # generous: a loaded CI machine starts Python slowly
    while time.monotonic() < deadline:
        for stream in (tmp_path / "outputs").glob("*/streams/essay.txt"):
            if stream.stat().st_size > 200:
                return stream.parent.parent
        time.sleep(0.05)
    raise AssertionError("the run never streamed text to its file")


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_run_json_is_consistent_after_a_signal_mid_stream(tmp_path, sig):
    process = start_run(tmp_path, write_workflow(tmp_path))
    try:
        run_dir = wait_for_stream(tmp_path)
        process.send_signal(sig)
        out, err = process.communicate(timeout=30)
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "interrupted"
    assert record["steps"]["essay"]["status"] == "interrupted"
    assert record["steps"]["after"]["status"] == "skipped"
    streamed = (run_dir / "streams" / "essay.txt").read_text(encoding="utf-8")
    assert streamed
    events = [
        json.loads(line) for line in (run_dir / "events.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert "".join(e["text"] for e in events if e["kind"] == "text") == streamed
    assert events[-1]["kind"] == "run_finished"
    # The console showed the same text as it arrived.
    assert streamed.splitlines()[0] in out
    for path in run_dir.rglob("*"):
        if path.is_file():
            assert SECRET not in path.read_text(encoding="utf-8", errors="replace")
    assert SECRET not in out + err


def test_a_completed_run_has_a_summary_and_exit_code_zero(tmp_path):
    process = start_run(tmp_path, write_workflow(tmp_path, tokens=30))
    out, err = process.communicate(timeout=60)
    assert process.returncode == 0, err
    assert "SIMULATED" in out
    assert "succeeded" in out
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "succeeded"
    assert {s["status"] for s in record["steps"].values()} == {"succeeded"}
    assert record["steps"]["essay"]["metrics"]["output_tokens"] > 0


def test_a_second_ctrl_c_forces_the_quit_and_still_leaves_a_consistent_record(tmp_path):
    path = write_workflow(
        tmp_path,
        handlers="[file, callback]",
        options=", stream_handler_opts: {callback: {callback: 'tests.engine.callbacks:record', "
        "on_complete: 'tests.engine.callbacks:stuck_on_complete'}}",
    )
    process = start_run(tmp_path, path)
    try:
        run_dir = wait_for_stream(tmp_path)
        process.send_signal(signal.SIGINT)
        time.sleep(1.0)
        # The first press stops the step cleanly, which waits for its handlers: one of them hangs.
        assert process.poll() is None
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=15)
    finally:
        process.kill()
    assert process.returncode == 130
    assert "Traceback" not in err
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "interrupted"
    assert "forced" in record["reason"]
    assert record["steps"]["essay"]["status"] == "interrupted"
    assert record["steps"]["after"]["status"] == "skipped"
