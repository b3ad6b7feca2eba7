"""Bash: opt-in, in the workspace, killed with everything it started at its timeout, output capped."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from engine.tools import ToolBox


def process_gone(pid: int) -> bool:
    """Dead (or a zombie waiting for a reaper that may not exist in a container)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state in ("Z", "X")


async def wait_gone(pid: int) -> bool:
    for _ in range(100):
        if process_gone(pid):
            return True
        await asyncio.sleep(0.02)
    return False


async def test_bash_is_refused_unless_allowed(workspace: Path) -> None:
    box = ToolBox(workspace, ["Read", "Write", "Edit", "Glob", "Grep", "LS"])
    assert "Bash" not in box.names
    assert all(d["name"] != "Bash" for d in box.definitions())
    outcome = await box.run("Bash", {"command": "touch pwned"})
    assert outcome.is_error and outcome.refused
    assert not (workspace / "pwned").exists()


async def test_bash_runs_in_the_workspace_and_reports_the_exit_code(box: ToolBox, workspace: Path) -> None:
    ok = await box.run("Bash", {"command": "pwd; echo err >&2"})
    assert not ok.is_error
    assert ok.output == f"{workspace.resolve()}\nerr\n[exit code 0]"
    failed = await box.run("Bash", {"command": "echo nope; exit 3"})
    assert failed.is_error and not failed.refused
    assert failed.output == "nope\n[exit code 3]"
    silent = await box.run("Bash", {"command": "true"})
    assert silent.output == "(no output)\n[exit code 0]"
    nul = await box.run("Bash", {"command": "echo \x00"})
    assert nul.is_error and "NUL" in nul.output


async def test_bash_does_not_see_the_engine_secrets(box: ToolBox, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    outcome = await box.run("Bash", {"command": 'echo "key=[$ANTHROPIC_API_KEY]"; cat </dev/stdin'})
    assert outcome.output.startswith("key=[]\n")


async def test_bash_timeout_kills_the_command_and_its_children(workspace: Path) -> None:
    box = ToolBox(workspace, ["Bash"], bash_timeout_s=0.5)
    started = time.monotonic()
    outcome = await box.run("Bash", {"command": "echo started; sleep 30 & echo $! > child.pid; wait"})
    assert time.monotonic() - started < 3
    assert outcome.is_error and not outcome.refused
    assert outcome.output.startswith("started\n")
    assert "timed out after 0.5 s" in outcome.output
    assert await wait_gone(int((workspace / "child.pid").read_text()))


async def test_the_call_timeout_cannot_exceed_the_box_limit(workspace: Path) -> None:
    box = ToolBox(workspace, ["Bash"], bash_timeout_s=0.3)
    outcome = await box.run("Bash", {"command": "sleep 30", "timeout_s": 600})
    assert "timed out after 0.3 s" in outcome.output
    shorter = await ToolBox(workspace, ["Bash"], bash_timeout_s=10).run(
        "Bash", {"command": "sleep 30", "timeout_s": 0.2}
    )
    assert "timed out after 0.2 s" in shorter.output


async def test_background_processes_do_not_outlive_the_call(box: ToolBox, workspace: Path) -> None:
    started = time.monotonic()
    outcome = await box.run("Bash", {"command": "sleep 30 & echo $! > bg.pid; echo launched"})
    assert time.monotonic() - started < 2  # the background child holding stdout does not delay the result
    assert outcome.output == "launched\n[exit code 0]"
    assert await wait_gone(int((workspace / "bg.pid").read_text()))


async def test_cancelling_the_call_kills_the_command(box: ToolBox, workspace: Path) -> None:
    call = asyncio.create_task(box.run("Bash", {"command": "sleep 30 & echo $! > c.pid; wait"}))
    pid_file = workspace / "c.pid"
    for _ in range(100):
        if pid_file.exists() and pid_file.read_text().strip():
            break
        await asyncio.sleep(0.02)
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await wait_gone(int(pid_file.read_text()))


async def test_bash_output_is_capped_keeping_head_and_tail(workspace: Path) -> None:
    box = ToolBox(workspace, ["Bash"], output_cap_bytes=4000)
    outcome = await box.run("Bash", {"command": "echo FIRST; seq 1 200000; echo LAST"})
    assert not outcome.is_error
    assert len(outcome.output.encode()) <= 4000
    assert outcome.output.startswith("FIRST\n")
    assert outcome.output.endswith("LAST\n[exit code 0]")
    assert "bytes of output omitted" in outcome.output


async def test_endless_output_is_capped_and_timed_out(workspace: Path) -> None:
    box = ToolBox(workspace, ["Bash"], bash_timeout_s=0.5, output_cap_bytes=2000)
    outcome = await box.run("Bash", {"command": "yes"})
    assert outcome.is_error and "timed out after 0.5 s" in outcome.output
    assert len(outcome.output.encode()) <= 2000
