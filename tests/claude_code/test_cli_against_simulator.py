"""The bare Claude Code CLI (no engine, telemetry left on) against the simulator: every request it
makes is answered, a tool round trip included, so the simulator stays faithful enough for it."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path

from engine.simulator import Simulator, SimulatorConfig
from tests.claude_code.conftest import _bundled_cli


async def test_the_cli_runs_a_tool_round_trip_against_the_simulator(tmp_path: Path):
    workspace = tmp_path / "ws"
    workspace.mkdir()
    cli = _bundled_cli()
    assert cli is not None
    async with Simulator(SimulatorConfig()) as sim:
        env = {
            **os.environ,
            "ANTHROPIC_BASE_URL": sim.base_url,
            "ANTHROPIC_API_KEY": "sk-ant-simulated",
        }
        process = await asyncio.create_subprocess_exec(
            str(cli),
            "-p",
            "Write the file hello.txt",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--allowedTools",
            "Write",
            "--model",
            "claude-sonnet-4-6",
            cwd=workspace,
            env=env,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        out, err = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, err.decode(errors="replace")[-2000:]
    messages = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
    [result] = [m for m in messages if m["type"] == "result"]
    assert result["subtype"] == "success" and not result["is_error"]
    assert (workspace / "hello.txt").read_text(encoding="utf-8")
    # Streamed token by token: raw Messages-API events, text deltas among them.
    events = [m["event"] for m in messages if m["type"] == "stream_event"]
    assert any(e["type"] == "content_block_delta" and e["delta"]["type"] == "text_delta" for e in events)
    # Every request was answered, probes too (none refused as unknown).
    assert sim.log and all(200 <= record.status < 300 for record in sim.log), sim.log
    calls = [record for record in sim.log if record.path == "/v1/messages"]
    assert len(calls) >= 2 and all(record.stream for record in calls)  # the tool call, then the answer
