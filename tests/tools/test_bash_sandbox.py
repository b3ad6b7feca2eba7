"""Bash in bubblewrap, tried as an attacker would: the API key, daemons, writes outside the workspace,
the network, SIGKILL of the engine; and the ways out: `sandbox: off`, and bwrap missing."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from engine.events import ToolResult
from engine.tools import BashSandbox, ToolBox
from engine.workflow import parse_workflow
from tests.engine.conftest import workflow
from tests.tools.conftest import HAS_BWRAP, marker, needs_bwrap, none_left, processes_with, wait_for

SECRET = "sk-ant-test-SECRET"
# Every way the key could be read from inside: the parent's environment, the shell's, every process's,
# and the host's /proc under the sandbox's (reachable if root kept its capabilities in there); only
# the lines that matter are kept, so the output cap cannot hide a find.
KEY_HUNT = (
    "(cat /proc/$PPID/environ; env; cat /proc/*/environ; umount -l /proc; cat /proc/*/environ) 2>&1 "
    "| tr '\\0' '\\n' | grep -a -e ANTHROPIC -e PATH= -e HOME=; echo hunted"
)
REPO = Path(__file__).resolve().parents[2]
# An engine process that makes one Bash call through the tool box and prints the outcome as JSON.
ENGINE = """
import asyncio, json, sys
from pathlib import Path
from engine.tools import BashSandbox, ToolBox

async def main():
    box = ToolBox(Path(sys.argv[1]), ["Bash"], bash_timeout_s=60, bash_sandbox=BashSandbox())
    outcome = await box.run("Bash", {"command": sys.argv[2]})
    print(json.dumps({"output": outcome.output, "is_error": outcome.is_error}))

asyncio.run(main())
"""


PIPELINE_RUN = [
    *(sys.executable, "-m", "tui.cli", "run", "--no-tui"),
    *("--provider", "simulator", "--ttft-ms", "0", "--tokens-per-second", "0"),
]


def engine_env() -> dict[str, str]:
    """The engine's environment holding the key from its start, as a user's shell would give it."""
    return {**os.environ, "ANTHROPIC_API_KEY": SECRET, "PYTHONPATH": str(REPO)}


def sandboxed(workspace: Path, network: bool = False) -> ToolBox:
    return ToolBox(workspace, ["Bash"], bash_timeout_s=10, bash_sandbox=BashSandbox(network=network))


# The API key --------------------------------------------------------------------------------------


@needs_bwrap
def test_the_api_key_is_not_readable_from_bash_even_through_proc(workspace: Path) -> None:
    workspace.mkdir()
    done = subprocess.run(
        [sys.executable, "-c", ENGINE, str(workspace), KEY_HUNT],
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    outcome = json.loads(done.stdout)
    assert "hunted" in outcome["output"] and "PATH=" in outcome["output"]
    assert SECRET not in done.stdout + done.stderr
    assert "ANTHROPIC" not in outcome["output"]


@needs_bwrap
def test_no_key_anywhere_after_a_run_whose_bash_hunts_for_it(tmp_path: Path) -> None:
    """Through `pipeline run` and the tool loop: the simulator scripts the Bash call; the key is in the
    engine's environment from its start; nothing the run prints or writes holds it."""
    scenario = {"rules": [{"times": 1, "tool_use": {"name": "Bash", "input": {"command": KEY_HUNT}}}]}
    (tmp_path / "scenario.json").write_text(json.dumps(scenario))
    steps = """
    - name: agent
      type: claude
      claude_options: {allowed_tools: [Bash], stream_handler: [console, file]}
      prompt: "Do the task."
    """
    (tmp_path / "hunt.yaml").write_text(workflow(steps, tmp=tmp_path))
    done = subprocess.run(
        [*PIPELINE_RUN, "hunt.yaml", "--scenario", "scenario.json"],
        cwd=tmp_path,
        env=engine_env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    [events] = (tmp_path / "outputs").glob("*/events.jsonl")
    results = [e for e in map(json.loads, events.read_text().splitlines()) if e.get("kind") == "tool_result"]
    assert results and "hunted" in results[0]["output"], results
    assert SECRET not in done.stdout + done.stderr
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) > 3
    assert [p for p in written if SECRET.encode() in p.read_bytes()] == []


@needs_bwrap
async def test_the_sandbox_has_no_capabilities_and_cannot_unmount(workspace: Path) -> None:
    outcome = await sandboxed(workspace).run(
        "Bash", {"command": "grep CapEff /proc/self/status; umount -l /proc || umount -l /run || echo kept"}
    )
    assert outcome.output.startswith("CapEff:\t0000000000000000\n"), outcome.output
    assert outcome.output.endswith("kept\n[exit code 0]")


# Processes ----------------------------------------------------------------------------------------


@needs_bwrap
async def test_a_daemon_does_not_outlive_the_call(workspace: Path) -> None:
    daemon, double_fork = marker(), marker()
    command = (
        f"setsid sleep {daemon} </dev/null >/dev/null 2>&1 & "
        f"(setsid sh -c 'sleep {double_fork}' </dev/null >/dev/null 2>&1 &) ; echo detached"
    )
    outcome = await sandboxed(workspace).run("Bash", {"command": command})
    assert outcome.output == "detached\n[exit code 0]"
    assert await none_left(daemon) and await none_left(double_fork)


@needs_bwrap
async def test_nothing_is_left_after_the_engine_is_killed(workspace: Path) -> None:
    """SIGKILL gives the engine no chance to clean up: bwrap's --die-with-parent has to."""
    workspace.mkdir()
    mark = marker()
    command = f"setsid sleep {mark} </dev/null >/dev/null 2>&1 & sleep {mark} & touch started; wait"
    engine = subprocess.Popen(
        [sys.executable, "-c", ENGINE, str(workspace), command],
        env=engine_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        await wait_for(workspace / "started")
        assert len(processes_with(mark)) >= 2
        engine.send_signal(signal.SIGKILL)
        engine.wait(timeout=10)
        assert await none_left(mark), processes_with(mark)
    finally:
        engine.kill()
        engine.wait()


# Files --------------------------------------------------------------------------------------------


@needs_bwrap
async def test_the_workspace_is_the_only_writable_place(workspace: Path, outside: Path) -> None:
    elsewhere = [outside / "secret.txt", outside / "new.txt", REPO / "pwned.txt", Path("/etc/pwned.txt")]
    command = "; ".join(f"echo pwned > {path}" for path in elsewhere) + "; echo mine > mine.txt"
    outcome = await sandboxed(workspace).run("Bash", {"command": command})
    *failures, _status = outcome.output.splitlines()
    assert len(failures) == len(elsewhere) and all("cannot create" in line for line in failures)
    assert (workspace / "mine.txt").read_text() == "mine\n"
    assert (outside / "secret.txt").read_text() == "top secret\n"
    assert not any(path.exists() for path in elsewhere[1:])
    repo = await sandboxed(workspace).run("Bash", {"command": f"touch {REPO}/pwned.txt"})
    # Read-only; or not there at all when the checkout lives under /tmp (the sandbox's /tmp is its own).
    assert repo.is_error and ("Read-only file system" in repo.output or "No such file" in repo.output)
    assert not (REPO / "pwned.txt").exists()


async def test_a_workspace_of_root_is_refused_when_sandboxed() -> None:
    box = ToolBox(Path("/"), ["Bash"], bash_sandbox=BashSandbox())
    outcome = await box.run("Bash", {"command": "touch /pwned"})
    assert outcome.refused and "the workspace is '/'" in outcome.output
    assert not Path("/pwned").exists()


@needs_bwrap
async def test_tmp_is_private_to_the_call(workspace: Path) -> None:
    name = f"pipeline-sandbox-{marker()}"
    first = await sandboxed(workspace).run("Bash", {"command": f"echo x > /tmp/{name} && cat /tmp/{name}"})
    assert first.output == "x\n[exit code 0]"
    assert not Path("/tmp", name).exists()
    second = await sandboxed(workspace).run("Bash", {"command": f"test -e /tmp/{name}"})
    assert second.is_error


@needs_bwrap
async def test_a_hard_link_made_inside_the_sandbox_cannot_reach_out(workspace: Path, outside: Path) -> None:
    outcome = await sandboxed(workspace).run("Bash", {"command": f"ln {outside}/secret.txt leak.txt"})
    assert outcome.is_error and not (workspace / "leak.txt").exists()


# Network ------------------------------------------------------------------------------------------


@pytest.fixture
async def listener() -> AsyncIterator[tuple[int, list[bytes]]]:
    """A TCP server on 127.0.0.1 recording what each connection sends."""
    received: list[bytes] = []

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        received.append(await reader.read(100))
        writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    yield server.sockets[0].getsockname()[1], received
    server.close()
    await server.wait_closed()


def connect_command(port: int) -> str:
    # bash's /dev/tcp, not this interpreter: a checkout (and its venv) under /tmp is not visible inside.
    return f"bash -c 'exec 3<>/dev/tcp/127.0.0.1/{port} && printf hello >&3' && echo connected"


@needs_bwrap
async def test_the_network_is_off_unless_the_step_allows_it(
    workspace: Path, listener: tuple[int, list[bytes]]
) -> None:
    port, received = listener
    refused = await sandboxed(workspace).run("Bash", {"command": connect_command(port)})
    assert refused.is_error and "connected" not in refused.output
    assert received == []
    allowed = await sandboxed(workspace, network=True).run("Bash", {"command": connect_command(port)})
    assert allowed.output.endswith("connected\n[exit code 0]"), allowed.output
    for _ in range(100):
        if received:
            break
        await asyncio.sleep(0.02)
    assert received == [b"hello"]


@needs_bwrap
@pytest.mark.parametrize(
    ("setting", "connects"),
    [("sandbox_network: false", False), ("sandbox_network: true", True), ("sandbox: off", True)],
)
async def test_the_tool_loop_runs_bash_as_the_step_says(
    harness_factory, tmp_path: Path, listener: tuple[int, list[bytes]], setting: str, connects: bool
) -> None:
    port, received = listener
    rules = [{"times": 1, "tool_use": {"name": "Bash", "input": {"command": connect_command(port)}}}]
    steps = f"""
    - name: agent
      type: claude
      claude_options: {{allowed_tools: [Bash], {setting}, stream_handler: buffer}}
      prompt: "Do the task."
    """
    async with harness_factory({"rules": rules}) as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    [outcome] = h.of(ToolResult, "agent")
    assert result.steps["agent"].status == "succeeded"
    assert outcome.is_error is not connects, outcome.output
    assert bool(received) is connects


# The ways out: sandbox off, bwrap missing ---------------------------------------------------------


async def test_sandbox_off_runs_bash_unconfined(workspace: Path, outside: Path) -> None:
    box = ToolBox(workspace, ["Bash"], bash_sandbox=BashSandbox(enabled=False))
    outcome = await box.run("Bash", {"command": f"echo reached > {outside}/new.txt; pwd"})
    assert outcome.output == f"{workspace.resolve()}\n[exit code 0]"
    assert (outside / "new.txt").read_text() == "reached\n"


async def test_without_bwrap_bash_is_refused_in_one_line(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    outcome = await sandboxed(workspace).run("Bash", {"command": "touch ran"})
    assert outcome.is_error and outcome.refused
    assert "\n" not in outcome.output
    assert "bwrap" in outcome.output and "apt-get install bubblewrap" in outcome.output
    assert not (workspace / "ran").exists()
    # Opting out still works where bwrap is missing.
    unconfined = ToolBox(workspace, ["Bash"], bash_sandbox=BashSandbox(enabled=False))
    assert (await unconfined.run("Bash", {"command": "echo ok"})).output == "ok\n[exit code 0]"


def options_of(yaml_options: str) -> tuple[list[str], Any]:
    """The warnings of a one-step workflow with these claude_options, and the step's options."""
    text = f"""
    workflow:
      name: t
      steps:
        - name: a
          type: claude
          claude_options: {yaml_options}
          prompt: hi
    """
    loaded = parse_workflow(textwrap.dedent(text))
    assert not loaded.errors, [str(e) for e in loaded.errors]
    assert loaded.workflow is not None
    return [d.message for d in loaded.warnings], loaded.workflow.steps[0].claude_options


@pytest.mark.parametrize("written", ["off", "'off'", "false"])
def test_sandbox_off_in_any_spelling_validates_with_a_warning(written: str) -> None:
    warnings, options = options_of(f"{{allowed_tools: [Bash], sandbox: {written}}}")
    assert options.sandbox == "off"
    assert any(w.startswith("sandbox: off: Bash runs unconfined") for w in warnings), warnings


@pytest.mark.parametrize("written", ["on", "'on'", "true"])
def test_sandbox_on_in_any_spelling(written: str) -> None:
    warnings, options = options_of(f"{{allowed_tools: [Read], sandbox: {written}, sandbox_network: true}}")
    assert options.sandbox == "on" and options.sandbox_network is True
    assert warnings == []


def test_an_unknown_sandbox_value_is_an_error() -> None:
    loaded = parse_workflow(
        "workflow:\n  name: t\n  steps:\n    - {name: a, type: claude, prompt: hi, "
        "claude_options: {sandbox: maybe}}\n"
    )
    assert [e.message for e in loaded.errors] == ["expected on or off, got 'maybe'"]


def test_validate_warns_when_bash_is_allowed_and_bwrap_is_missing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "empty-bin"))
    warnings, _ = options_of("{allowed_tools: [Read, Bash]}")
    assert any("`bwrap` is not installed" in w and "apt-get install bubblewrap" in w for w in warnings)
    assert options_of("{allowed_tools: [Read]}")[0] == []
    assert options_of("{allowed_tools: [Bash], disallowed_tools: Bash}")[0] == []


@pytest.mark.skipif(not HAS_BWRAP, reason="checks that validate is quiet where bwrap is installed")
def test_validate_is_quiet_about_bash_where_bwrap_is_installed() -> None:
    assert options_of("{allowed_tools: [Bash]}")[0] == []
