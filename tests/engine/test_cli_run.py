"""`pipeline run` as a user runs it: a session continued by a second run, exit codes, bad input."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from engine.sessions import session_path
from tests.engine.cli_support import run
from tests.engine.conftest import workflow


def pipeline(tmp_path: Path, path: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run(tmp_path, Path(path), *args)


def test_a_session_is_continued_by_a_second_pipeline_run(tmp_path):
    path = tmp_path / "chat.yaml"
    path.write_text(
        workflow(
            """
    - name: chat
      type: claude_session
      session_config: {session_name: helper, continue_on_restart: true}
      prompt: "Remember the word lantern"
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    first = pipeline(tmp_path, str(path))
    assert first.returncode == 0, first.stderr
    stored = json.loads(session_path(tmp_path / "ws", "helper").read_text())
    assert len(stored["messages"]) == 2
    second = pipeline(tmp_path, str(path))
    assert second.returncode == 0, second.stderr
    stored = json.loads(session_path(tmp_path / "ws", "helper").read_text())
    assert [m["role"] for m in stored["messages"]] == ["user", "assistant"] * 2
    assert stored["usage"]["output_tokens"] > 0


def test_exit_codes_follow_the_run(tmp_path):
    failing = tmp_path / "failing.yaml"
    failing.write_text(
        workflow(
            """
    - name: broken
      type: claude
      claude_options: {retry_config: {max_retries: 0}}
      prompt: "this will fail"
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    (tmp_path / "failing.scenario.yaml").write_text("rules:\n  - fault: server_error\n", encoding="utf-8")
    result = pipeline(tmp_path, str(failing))
    assert result.returncode == 1
    assert "failed" in result.stdout and "Traceback" not in result.stderr

    runs_before = len(list((tmp_path / "outputs").iterdir()))
    invalid = tmp_path / "invalid.yaml"
    invalid.write_text("workflow:\n  name: x\n  steps:\n    - name: a\n      type: claud\n", encoding="utf-8")
    result = pipeline(tmp_path, str(invalid))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "invalid.yaml:5:" in line and "claude" in line
    assert len(list((tmp_path / "outputs").iterdir())) == runs_before  # nothing ran


def test_a_broken_scenario_file_is_one_clear_line(tmp_path):
    path = tmp_path / "w.yaml"
    path.write_text(
        workflow(
            """
    - {name: a, type: claude, prompt: hi}
    """,
            tmp=tmp_path,
        ),
        encoding="utf-8",
    )
    (tmp_path / "w.scenario.yaml").write_text("rules:\n  - fault: explode\n", encoding="utf-8")
    result = pipeline(tmp_path, str(path))
    assert result.returncode == 2
    [line] = result.stderr.strip().splitlines()
    assert "explode" in line and "Traceback" not in result.stderr
