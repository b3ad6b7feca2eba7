"""`pipeline simulate` as a user runs it: a server that plain curl can stream from, stopped by Ctrl+C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
from pathlib import Path

import pytest

PIPELINE = [sys.executable, "-m", "tui.cli"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_simulate(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*PIPELINE, "simulate", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )


def test_curl_streams_from_pipeline_simulate_and_ctrl_c_exits_cleanly():
    port = free_port()
    server = start_simulate("--port", str(port))
    try:
        banner = server.stdout.readline()
        assert banner.startswith(f"Simulator listening on http://127.0.0.1:{port}") and "SIMULATED" in banner
        body = {
            "model": "m",
            "max_tokens": 300,
            "stream": True,
            "messages": [{"role": "user", "content": "Hi"}],
        }
        curl = subprocess.run(
            [
                "curl",
                "-sS",
                "-N",
                "--max-time",
                "10",
                f"http://127.0.0.1:{port}/v1/messages",
                "-H",
                "content-type: application/json",
                "-H",
                "x-api-key: anything",
                "-d",
                json.dumps(body),
            ],
            capture_output=True,
            text=True,
            timeout=20,
        )
        assert curl.returncode == 0, curl.stderr
        frames = [frame for frame in curl.stdout.split("\n\n") if frame]
        assert frames[0].startswith("event: message_start\ndata: ")
        assert frames[-1] == 'event: message_stop\ndata: {"type":"message_stop"}'
        assert sum(frame.startswith("event: content_block_delta") for frame in frames) > 20
    finally:
        server.send_signal(signal.SIGINT)
        _, stderr = server.communicate(timeout=10)
    assert server.returncode == 0
    assert "Traceback" not in stderr
    assert "POST /v1/messages 200" in stderr


def test_port_in_use_is_a_one_line_error(tmp_path: Path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = subprocess.run(
            [*PIPELINE, "simulate", "--port", str(port)], capture_output=True, text=True, timeout=20
        )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and f"127.0.0.1:{port}" in result.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [("rules: [{fault: explode}]", "unknown fault 'explode'"), (None, "cannot read scenario file")],
)
def test_bad_scenario_file_is_a_one_line_error(tmp_path: Path, content: str | None, message: str):
    scenario = tmp_path / "faults.yaml"
    if content is not None:
        scenario.write_text(content)
    result = subprocess.run(
        [*PIPELINE, "simulate", "--scenario", str(scenario)], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and message in result.stderr and "Traceback" not in result.stderr


def test_demo_streams_an_answer_and_exits_zero():
    result = subprocess.run(
        [*PIPELINE, "simulate", "--demo", "--ttft-ms", "0", "--tokens-per-second", "0"],
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 0, result.stderr
    assert "SIMULATED" in result.stdout and "## " in result.stdout and "stop_reason=end_turn" in result.stdout


NON_FINITE_FLAGS = [
    ("--ttft-ms", "nan"),
    ("--ttft-ms", "inf"),
    ("--tokens-per-second", "nan"),
    ("--tokens-per-second", "-inf"),
    ("--tokens-per-second", "-1"),
]


@pytest.mark.parametrize(("flag", "value"), NON_FINITE_FLAGS)
def test_simulate_refuses_non_finite_pacing_flags(flag: str, value: str):
    result = subprocess.run(
        [*PIPELINE, "simulate", f"{flag}={value}"], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert result.stderr == f"pipeline simulate: {flag} must be a finite number >= 0, got {float(value)!r}\n"


@pytest.mark.parametrize(("flag", "value"), NON_FINITE_FLAGS[:3])
def test_run_refuses_non_finite_pacing_flags(tmp_path: Path, flag: str, value: str):
    workflow = tmp_path / "wf.yaml"
    workflow.write_text(
        f"workflow:\n  name: pace\n  output_dir: {tmp_path / 'out'}\n  workspace_dir: {tmp_path / 'ws'}\n"
        "  steps:\n    - name: hello\n      type: claude\n      prompt: Hi\n"
    )
    result = subprocess.run(
        [*PIPELINE, "run", str(workflow), "--no-tui", "--provider", "simulator", f"{flag}={value}"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stdout
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert f"{flag} must be a finite number >= 0" in result.stderr
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


@pytest.mark.parametrize("text", ["ttft_ms: .nan", "tokens_per_second: .inf", "rules: [{ttft_ms: .inf}]"])
def test_simulate_refuses_a_scenario_with_non_finite_pacing(tmp_path: Path, text: str):
    scenario = tmp_path / "pace.yaml"
    scenario.write_text(text)
    result = subprocess.run(
        [*PIPELINE, "simulate", "--scenario", str(scenario)], capture_output=True, text=True, timeout=20
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "expected a finite number >= 0" in result.stderr
