"""The API key never lands anywhere: runs with ANTHROPIC_API_KEY set to a unique secret, then every file
under the test's folder (run records, streams, workspace, sessions), stdout and stderr are searched for it.

The runs cover what might echo a key: a failing authentication, every retried fault, a run whose key
really travels (the real-API provider pointed at `pipeline simulate`), and a Bash tool call that goes
looking for it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest

from tests.tools.conftest import needs_bwrap

PIPELINE = [sys.executable, "-m", "tui.cli"]
FAST = ["--ttft-ms", "0", "--tokens-per-second", "0"]
RETRY = "retry_config: {max_retries: 2, base_delay_ms: 1, max_delay_ms: 5, jitter: false}"


def write_run(tmp_path: Path, name: str, steps: str, scenario: str) -> tuple[Path, Path]:
    workflow = tmp_path / f"{name}.yaml"
    workflow.write_text(
        f"workflow:\n  name: {name}\n  output_dir: {tmp_path / 'outputs'}\n"
        f"  workspace_dir: {tmp_path / 'ws'}\n  on_error: continue\n  steps:\n"
        + textwrap.indent(textwrap.dedent(steps), "    "),
        encoding="utf-8",
    )
    scenario_file = tmp_path / f"{name}.scenario.yaml"
    scenario_file.write_text(textwrap.dedent(scenario), encoding="utf-8")
    return workflow, scenario_file


AUTH = (
    """
    - name: denied
      type: claude
      prompt: "Say hello"
    """,
    """
    rules: [{fault: auth_error}]
    """,
)

RETRIES = (
    f"""
    - name: limited
      type: claude
      claude_options: {{stream_handler: [file, buffer], {RETRY}}}
      prompt: "limited: explain retries"
    - name: overloaded
      type: claude
      claude_options: {{stream_handler: [file], {RETRY}}}
      prompt: "overloaded: explain retries"
    - name: broken
      type: claude
      claude_options: {{stream_handler: [file], {RETRY}}}
      prompt: "broken: explain retries"
    - name: dropped
      type: claude
      claude_options: {{stream_handler: [file], {RETRY}}}
      prompt: "dropped: explain retries"
    - name: whole
      type: claude
      claude_options: {{async_streaming: false, {RETRY}}}
      prompt: "whole: explain retries"
    - name: chat
      type: claude_session
      session_config: {{session_name: keygrep}}
      claude_options: {{{RETRY}}}
      prompt: "chat: explain retries"
    """,
    """
    rules:
      - {prompt_contains: "limited:", fault: rate_limit, retry_after: 0, times: 1}
      - {prompt_contains: "overloaded:", fault: overloaded, times: 1}
      - {prompt_contains: "broken:", fault: error_event, after_tokens: 5, times: 1}
      - {prompt_contains: "dropped:", fault: drop, after_tokens: 5, times: 1}
      - {prompt_contains: "whole:", fault: server_error, times: 1}
      - {prompt_contains: "chat:", fault: cut, after_tokens: 3, times: 1}
    """,
)

BASH_LOOKS_FOR_THE_KEY = (
    """
    - name: agent
      type: claude
      claude_options: {allowed_tools: [Bash], stream_handler: [file, buffer]}
      prompt: "Run the command."
    """,
    """
    rules:
      - times: 1
        tool_use:
          name: Bash
          input: {command: "env; echo; tr '\\\\0' '\\\\n' < /proc/$PPID/environ"}
    """,
)


@pytest.fixture
def secret() -> str:
    return f"sk-ant-api03-keygrep-{uuid.uuid4().hex}"


def run(tmp_path: Path, secret: str, name: str, case: tuple[str, str], *extra: str,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    workflow, scenario = write_run(tmp_path, name, *case)
    return subprocess.run(
        [*PIPELINE, "run", str(workflow), "--no-tui", "--scenario", str(scenario), *FAST, *extra],
        cwd=tmp_path,
        env={**os.environ, "ANTHROPIC_API_KEY": secret, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
    )


def places_holding(tmp_path: Path, secret: str, outputs: dict[str, str]) -> list[str]:
    """Every file under tmp_path and every named output that contains the secret (or its unique part)."""
    needles = (secret.encode(), secret.rsplit("-", 1)[1].encode())
    found = [name for name, text in outputs.items() if any(n.decode() in text for n in needles)]
    for path in sorted(tmp_path.rglob("*")):
        if path.is_file() and not path.is_symlink() and any(n in path.read_bytes() for n in needles):
            found.append(str(path.relative_to(tmp_path)))
    return found


def test_no_run_writes_or_prints_the_api_key(tmp_path: Path, secret: str):
    outputs: dict[str, str] = {}
    denied = run(tmp_path, secret, "auth", AUTH, "--provider", "simulator")
    assert denied.returncode == 1, denied.stdout + denied.stderr
    [auth_record] = (tmp_path / "outputs").glob("*/run.json")
    assert "401 authentication_error: invalid x-api-key" in auth_record.read_text(encoding="utf-8")
    retried = run(tmp_path, secret, "retries", RETRIES, "--provider", "simulator")
    assert retried.returncode == 0, retried.stdout + retried.stderr
    outputs |= {"auth stdout": denied.stdout, "auth stderr": denied.stderr,
                "retries stdout": retried.stdout, "retries stderr": retried.stderr}

    # The real-API provider, pointed at a standalone simulator: here the key is sent on every request.
    scenario = tmp_path / "server.scenario.yaml"
    scenario.write_text(textwrap.dedent(RETRIES[1]), encoding="utf-8")
    server = subprocess.Popen(
        [*PIPELINE, "simulate", "--port", "0", "--scenario", str(scenario), *FAST],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        banner = server.stdout.readline()
        base_url = banner.split()[3]
        assert base_url.startswith("http://127.0.0.1:"), banner
        live = run(tmp_path, secret, "live", RETRIES, "--provider", "anthropic",
                   env={"ANTHROPIC_BASE_URL": base_url})
    finally:
        server.send_signal(signal.SIGINT)
        server_out, server_err = server.communicate(timeout=20)
    assert live.returncode == 0, live.stdout + live.stderr
    assert "LIVE" in live.stdout and "POST /v1/messages 200" in server_err
    outputs |= {"live stdout": live.stdout, "live stderr": live.stderr,
                "simulate stdout": banner + server_out, "simulate stderr": server_err}

    assert (tmp_path / "outputs").is_dir() and (tmp_path / "ws").is_dir()
    assert places_holding(tmp_path, secret, outputs) == []


@needs_bwrap
def test_a_bash_tool_call_cannot_find_the_api_key(tmp_path: Path, secret: str):
    result = run(tmp_path, secret, "bash", BASH_LOOKS_FOR_THE_KEY, "--provider", "simulator")
    assert result.returncode == 0, result.stdout + result.stderr
    # The command ran (its output is in the record), and found nothing.
    assert "PATH=" in (tmp_path / "outputs").joinpath(*_one_run(tmp_path), "events.jsonl").read_text()
    assert places_holding(tmp_path, secret, {"stdout": result.stdout, "stderr": result.stderr}) == []


def _one_run(tmp_path: Path) -> tuple[str]:
    [run_dir] = (tmp_path / "outputs").iterdir()
    return (run_dir.name,)
