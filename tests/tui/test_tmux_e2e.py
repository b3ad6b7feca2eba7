"""End to end: the real `pipeline run` in tmux streams into the dashboard and stops on the interrupt key."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(shutil.which("tmux") is None, reason="tmux is not installed")

PIPELINE = Path(sys.executable).with_name("pipeline")
REPLY = "Harbour lights blink across the water. " * 150


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], check=True, capture_output=True, text=True).stdout


def wait_for(condition, what: str, tries: int = 200) -> None:
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_pipeline_run_streams_into_the_dashboard_and_the_interrupt_key_stops_it(tmp_path):
    (tmp_path / "harbour.scenario.yaml").write_text(
        f"tokens_per_second: 100\nrules:\n  - reply: {json.dumps(REPLY)}\n", encoding="utf-8")
    workflow = tmp_path / "harbour.yaml"
    workflow.write_text(
        "workflow:\n  name: harbour\n"
        f"  output_dir: {tmp_path / 'outputs'}\n  workspace_dir: {tmp_path / 'ws'}\n"
        "  steps:\n    - name: essay\n      type: claude\n"
        "      claude_options: {stream_handler: [console, file]}\n"
        "      prompt: \"Write about harbours\"\n", encoding="utf-8")
    exit_file = tmp_path / "exit-code"
    session = f"pipeline-e2e-{uuid.uuid4().hex[:8]}"
    command = (f"{PIPELINE} run {workflow} --provider simulator; echo $? > {exit_file}; sleep 30")
    env_prefix = "env -u NO_COLOR TERM=xterm-256color "
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36", env_prefix + command)
    try:
        screen = lambda: tmux("capture-pane", "-p", "-t", session)  # noqa: E731
        wait_for(lambda: "Harbour lights blink" in screen(), "text to stream into the pane")
        first = screen().count("Harbour lights")
        wait_for(lambda: screen().count("Harbour lights") > first, "more text to arrive")
        tmux("send-keys", "-t", session, "x")
        wait_for(lambda: "interrupted" in screen(), "the step to show as interrupted")
        tmux("send-keys", "-t", session, "q")
        wait_for(exit_file.exists, "pipeline to exit")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert exit_file.read_text().strip() == "130"
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] == "interrupted"
    assert record["steps"]["essay"]["status"] == "interrupted"
    streamed = (run_dir / "streams" / "essay.txt").read_text(encoding="utf-8")
    assert streamed and REPLY.startswith(streamed) and len(streamed) < len(REPLY)
    assert os.path.getsize(run_dir / "events.jsonl") > 0


def test_keys_still_answer_after_a_maximized_pane_sees_the_next_step_start(tmp_path):
    """The old freeze: `m` while a step streams, the next step starts, then every key was dead."""
    (tmp_path / "freeze.scenario.yaml").write_text(
        "tokens_per_second: 150\nrules:\n"
        f"  - prompt_contains: harbours\n    reply: {json.dumps(REPLY[:600])}\n"
        "  - reply: \"Short second answer.\"\n", encoding="utf-8")
    workflow = tmp_path / "freeze.yaml"
    workflow.write_text(
        "workflow:\n  name: freeze\n"
        f"  output_dir: {tmp_path / 'outputs'}\n  workspace_dir: {tmp_path / 'ws'}\n"
        "  steps:\n    - name: essay\n      type: claude\n      prompt: \"Write about harbours\"\n"
        "    - name: second\n      type: claude\n      prompt: \"Say something short\"\n",
        encoding="utf-8")
    exit_file = tmp_path / "exit-code"
    session = f"pipeline-freeze-{uuid.uuid4().hex[:8]}"
    command = f"{PIPELINE} run {workflow} --provider simulator; echo $? > {exit_file}; sleep 30"
    tmux("new-session", "-d", "-s", session, "-x", "120", "-y", "36",
         "env -u NO_COLOR TERM=xterm-256color " + command)
    try:
        screen = lambda: tmux("capture-pane", "-p", "-t", session)  # noqa: E731
        wait_for(lambda: "Harbour lights blink" in screen(), "text to stream into the pane")
        tmux("send-keys", "-t", session, "m")
        # Maximized: the tree is gone from the screen, the pane stays while its step ends.
        wait_for(lambda: "✔ essay" in screen() and "second" not in screen(), "the essay to end, maximized")
        wait_for(lambda: "succeeded" in screen() or "Run finished" in screen(), "the next step to run")
        assert "second" not in screen(), "the maximized pane stayed maximized"
        tmux("send-keys", "-t", session, "?")
        wait_for(lambda: "All keys" in screen(), "the help to open")
        tmux("send-keys", "-t", session, "Escape")
        wait_for(lambda: "All keys" not in screen(), "the help to close")
        tmux("send-keys", "-t", session, "m")
        wait_for(lambda: "second" in screen(), "the pane to be restored beside the tree")
        tmux("send-keys", "-t", session, "q")
        wait_for(exit_file.exists, "pipeline to exit")
    finally:
        subprocess.run(["tmux", "kill-session", "-t", session], capture_output=True)
    assert exit_file.read_text().strip() == "0"
