"""Bash: opt-in, in the workspace, killed with everything it started at its timeout, output capped;
each guarantee with the sandbox on and off."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest

from engine.tools import BashSandbox, ToolBox
from tests.tools.conftest import marker, none_left, wait_for


def bash_box(workspace: Path, sandbox: BashSandbox, **limits: Any) -> ToolBox:
    return ToolBox(workspace, ["Bash"], bash_sandbox=sandbox, **limits)


async def test_bash_is_refused_unless_allowed(workspace: Path) -> None:
    box = ToolBox(workspace, ["Read", "Write", "Edit", "Glob", "Grep", "LS"])
    assert "Bash" not in box.names
    assert all(d["name"] != "Bash" for d in box.definitions())
    outcome = await box.run("Bash", {"command": "touch pwned"})
    assert outcome.is_error and outcome.refused
    assert not (workspace / "pwned").exists()


async def test_bash_runs_in_the_workspace_and_reports_the_exit_code(
    workspace: Path, bash_sandbox: BashSandbox
) -> None:
    box = bash_box(workspace, bash_sandbox, bash_timeout_s=5)
    ok = await box.run("Bash", {"command": "pwd; echo err >&2; echo made > made.txt"})
    assert not ok.is_error
    assert ok.output == f"{workspace.resolve()}\nerr\n[exit code 0]"
    assert (workspace / "made.txt").read_text() == "made\n"
    failed = await box.run("Bash", {"command": "echo nope; exit 3"})
    assert failed.is_error and not failed.refused
    assert failed.output == "nope\n[exit code 3]"
    silent = await box.run("Bash", {"command": "true"})
    assert silent.output == "(no output)\n[exit code 0]"
    nul = await box.run("Bash", {"command": "echo \x00"})
    assert nul.is_error and "NUL" in nul.output


async def test_bash_does_not_see_the_engine_secrets(
    workspace: Path, bash_sandbox: BashSandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-secret")
    box = bash_box(workspace, bash_sandbox)
    outcome = await box.run("Bash", {"command": 'echo "key=[$ANTHROPIC_API_KEY]"; cat </dev/stdin; env'})
    assert outcome.output.startswith("key=[]\n")
    assert "sk-secret" not in outcome.output and "ANTHROPIC" not in outcome.output


async def test_bash_timeout_kills_the_command_and_its_children(
    workspace: Path, bash_sandbox: BashSandbox
) -> None:
    box = bash_box(workspace, bash_sandbox, bash_timeout_s=0.5)
    mark = marker()
    started = time.monotonic()
    outcome = await box.run("Bash", {"command": f"echo started; sleep {mark} & wait"})
    assert time.monotonic() - started < 3
    assert outcome.is_error and not outcome.refused
    assert outcome.output.startswith("started\n")
    assert "timed out after 0.5 s" in outcome.output
    assert await none_left(mark)


async def test_the_call_timeout_cannot_exceed_the_box_limit(
    workspace: Path, bash_sandbox: BashSandbox
) -> None:
    outcome = await bash_box(workspace, bash_sandbox, bash_timeout_s=0.3).run(
        "Bash", {"command": "sleep 30", "timeout_s": 600}
    )
    assert "timed out after 0.3 s" in outcome.output
    shorter = await bash_box(workspace, bash_sandbox, bash_timeout_s=10).run(
        "Bash", {"command": "sleep 30", "timeout_s": 0.2}
    )
    assert "timed out after 0.2 s" in shorter.output


async def test_background_processes_do_not_outlive_the_call(
    workspace: Path, bash_sandbox: BashSandbox
) -> None:
    box = bash_box(workspace, bash_sandbox, bash_timeout_s=5)
    mark = marker()
    started = time.monotonic()
    outcome = await box.run("Bash", {"command": f"sleep {mark} & echo launched"})
    assert time.monotonic() - started < 2  # the background child holding stdout does not delay the result
    assert outcome.output == "launched\n[exit code 0]"
    assert await none_left(mark)


async def test_cancelling_the_call_kills_the_command(workspace: Path, bash_sandbox: BashSandbox) -> None:
    box = bash_box(workspace, bash_sandbox, bash_timeout_s=5)
    mark = marker()
    call = asyncio.create_task(box.run("Bash", {"command": f"sleep {mark} & touch started; wait"}))
    await wait_for(workspace / "started")
    call.cancel()
    with pytest.raises(asyncio.CancelledError):
        await call
    assert await none_left(mark)


async def test_bash_output_is_capped_keeping_head_and_tail(
    workspace: Path, bash_sandbox: BashSandbox
) -> None:
    box = bash_box(workspace, bash_sandbox, output_cap_bytes=4000)
    outcome = await box.run("Bash", {"command": "echo FIRST; seq 1 200000; echo LAST"})
    assert not outcome.is_error
    assert len(outcome.output.encode()) <= 4000
    assert outcome.output.startswith("FIRST\n")
    assert outcome.output.endswith("LAST\n[exit code 0]")
    assert "bytes of output omitted" in outcome.output


async def test_endless_output_is_capped_and_timed_out(workspace: Path, bash_sandbox: BashSandbox) -> None:
    box = bash_box(workspace, bash_sandbox, bash_timeout_s=0.5, output_cap_bytes=2000)
    outcome = await box.run("Bash", {"command": "yes"})
    assert outcome.is_error and "timed out after 0.5 s" in outcome.output
    assert len(outcome.output.encode()) <= 2000
