"""A stop always stops: exit codes say who stopped a run, and a run whose event loop is blocked
still ends soon after SIGTERM with a consistent run.json."""

from __future__ import annotations

import json
import signal
import subprocess
import time

from tests.engine.conftest import workflow
from tests.engine.test_cli_run import pipeline
from tests.engine.test_records import start_run, wait_for_stream, write_workflow


def test_a_guard_stopping_the_run_exits_3_and_says_so(tmp_path):
    path = tmp_path / "guarded.yaml"
    path.write_text(
        workflow(
            """
    - name: guarded
      type: claude
      claude_options: {stop_on: ["(?i)lighthouse"]}
      prompt: "Write about lighthouses"
    - {name: after, type: claude, prompt: "hello"}
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    (tmp_path / "guarded.scenario.yaml").write_text(
        "rules:\n  - reply: 'The lighthouse keeper wrote every night.'\n", encoding="utf-8"
    )
    result = pipeline(tmp_path, str(path))
    assert result.returncode == 3, result.stderr
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "interrupted" and record["steps"]["guarded"]["status"] == "interrupted"
    assert "stop_on" in record["steps"]["guarded"]["reason"]


def test_sigterm_ends_a_run_whose_event_loop_is_blocked_with_a_consistent_record(tmp_path):
    path = write_workflow(
        tmp_path,
        handlers="[file, callback]",
        options=", stream_handler_opts: {callback: {callback: 'tests.engine.callbacks:block_the_loop'}}",
    )
    process = start_run(tmp_path, path)
    try:
        run_dir = wait_for_stream(tmp_path)
        for _ in range(1800):  # bounded: the callback blocks the loop once text has streamed
            if (run_dir / "blocking").exists():
                break
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        _, err = process.communicate(timeout=20)  # a bound for a hung process, not a timing assertion
    except subprocess.TimeoutExpired:
        raise AssertionError("the run did not end after SIGTERM while its loop was blocked") from None
    finally:
        process.kill()
    assert process.returncode == 130, err
    assert "Traceback" not in err and "forced quit" in err
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "interrupted" and "forced quit" in record["reason"]
    assert record["steps"]["essay"]["status"] == "interrupted"
