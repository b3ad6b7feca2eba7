"""`pipeline validate` and `pipeline run --no-tui` as a user starts them (the run against the embedded
simulator), for tests of what a user sees: exit code and a one-line error, never a hang."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

# Well under pytest-timeout: a hang fails the test with TimeoutExpired instead of stalling the suite.
CLI_TIMEOUT_S = 60


def pipeline(
    cwd: Path, *args: str, timeout: float = CLI_TIMEOUT_S, **popen: Any
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tui.cli", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        **popen,
    )


def validate(cwd: Path, path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return pipeline(cwd, "validate", str(path), *args)


def run(cwd: Path, path: Path, *args: str, **popen: Any) -> subprocess.CompletedProcess[str]:
    pacing = ("--ttft-ms", "0", "--tokens-per-second", "0")
    return pipeline(cwd, "run", str(path), *args, "--no-tui", "--provider", "simulator", *pacing, **popen)


def error_line(done: subprocess.CompletedProcess[str]) -> str:
    """The one error line of a refused workflow: `run` writes it on stderr, `validate` on stdout
    (followed by its `FILE: 1 error` count)."""
    assert "Traceback" not in done.stderr, done.stderr
    output = done.stderr.strip() or done.stdout.strip()
    lines = [line for line in output.splitlines() if not line.endswith((": 1 error", " errors"))]
    assert len(lines) == 1, output
    return lines[0]


def last_run(outputs: Path) -> dict[str, Any]:
    [record] = sorted(outputs.glob("*/run.json"))
    return json.loads(record.read_text(encoding="utf-8"))
