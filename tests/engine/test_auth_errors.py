"""A missing, rejected or under-privileged API key says so on the console in one line, with what to set."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.engine.conftest import workflow

STEP = """
    - {name: answer, type: claude, prompt: "Hello"}
"""
SET = "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to a valid key, or run with --provider simulator"


def run(tmp_path: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "w.yaml"
    path.write_text(workflow(STEP, tmp=tmp_path), encoding="utf-8")
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", "run", str(path), "--no-tui", *args],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )


def failure_lines(stdout: str) -> list[str]:
    """The summary's line for the failed step (the table row says `failed (auth)`)."""
    return [line for line in stdout.splitlines() if line.startswith("answer failed: ")]


@pytest.mark.parametrize(
    ("fault", "api_said"),
    [
        ("auth_error", "401 authentication_error: invalid x-api-key: the API rejected the key; "),
        ("permission_error", "403 permission_error: Your API key does not have permission to use the"),
    ],
)
def test_a_rejected_key_says_what_the_api_said_and_what_to_set(tmp_path, fault, api_said):
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(f"rules: [{{fault: {fault}}}]\n", encoding="utf-8")
    out = run(tmp_path, "--provider", "simulator", "--scenario", str(scenario), "--ttft-ms", "0")
    assert out.returncode == 1, out.stderr
    [line] = failure_lines(out.stdout)
    assert line.startswith("answer failed: " + api_said), line
    assert "failed (auth)" in out.stdout
    assert line.endswith(SET)
    assert "Traceback" not in out.stderr


def test_a_missing_key_says_what_to_set(tmp_path):
    env = {k: v for k, v in os.environ.items() if k not in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN")}
    env["ANTHROPIC_BASE_URL"] = "http://127.0.0.1:9"  # never the real API, whatever happens
    out = run(tmp_path, "--provider", "anthropic", env=env)
    assert out.returncode == 1, out.stderr
    [line] = failure_lines(out.stdout)
    assert line == f"answer failed: no API key: {SET}"
    assert "Traceback" not in out.stderr
