"""Bash: a shell command in the workspace, inside an OS sandbox, with a timeout that kills everything
it started.

Path checks cannot confine a shell, which is why Bash is opt-in (only when `allowed_tools` names it)
and runs inside bubblewrap (see `os_sandbox`): the workspace the only writable path, no network unless
the step allows it, a clean environment, its own /proc, and every process of the call gone when it
ends. Where bwrap is missing the call is refused; a workflow can opt out (`sandbox: off`), and then the
command runs unconfined with only the weaker guarantees this module adds in both cases: the workspace
as cwd, an empty stdin, an environment stripped to a few harmless variables, its process group killed
at the timeout and when the shell exits, and output capped in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from pathlib import Path
from typing import Any

from engine.telemetry import trace_environment
from engine.tools import os_sandbox
from engine.tools.base import Tool, ToolContext, ToolOutcome
from engine.tools.sandbox import Refused, ToolError

SHELL = "/bin/sh"
# Unsandboxed only: passed through from the engine's environment; everything else (API keys, tokens)
# stays out of reach.
INHERITED_ENV = (
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "SHELL",
    "LANG",
    "LANGUAGE",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "TMPDIR",
)
# After the shell ends, how long a process outside its group may keep the output pipe before we stop reading.
DRAIN_GRACE_S = 0.5
# Room kept under the output cap for the omission note and the exit status line.
NOTE_ROOM = 300


class CappedOutput:
    """The first and last bytes of a stream, with a count of what was dropped between them.

    Memory stays at the cap plus one chunk however much the command prints; the tail is kept because
    that is where errors and summaries usually are.
    """

    def __init__(self, cap_bytes: int) -> None:
        self.head_cap = cap_bytes // 2
        self.tail_cap = cap_bytes - self.head_cap
        self.head = bytearray()
        self.tail = bytearray()
        self.dropped = 0

    def add(self, data: bytes) -> None:
        room = self.head_cap - len(self.head)
        if room > 0:
            self.head += data[:room]
            data = data[room:]
        if not data:
            return
        self.tail += data
        excess = len(self.tail) - self.tail_cap
        if excess > 0:
            del self.tail[:excess]
            self.dropped += excess

    def text(self) -> str:
        if not self.dropped:
            return (self.head + self.tail).decode("utf-8", "replace")
        middle = f"\n[... {self.dropped} bytes of output omitted ...]\n"
        return self.head.decode("utf-8", "replace") + middle + self.tail.decode("utf-8", "replace")


class _Shell(asyncio.SubprocessProtocol):
    """Collects output as it arrives and tells apart 'the shell exited' from 'every pipe closed'.

    `asyncio.subprocess.Process.wait()` waits for both, so a background child still holding stdout
    would hide the shell's exit until the timeout; this protocol sees the exit itself.
    """

    def __init__(self, output: CappedOutput) -> None:
        loop = asyncio.get_running_loop()
        self.output = output
        self.exited: asyncio.Future[None] = loop.create_future()
        self.closed: asyncio.Future[None] = loop.create_future()

    def pipe_data_received(self, fd: int, data: bytes) -> None:
        self.output.add(data)

    def process_exited(self) -> None:
        if not self.exited.done():
            self.exited.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.closed.done():
            self.closed.set_result(None)


async def bash(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
    command = args["command"]
    if not command.strip():
        raise ToolError("command is empty")
    if "\x00" in command:
        raise ToolError("command contains a NUL character")
    # TRACEPARENT of the tool call's span, so what the command runs can join the trace.
    argv, env = _launch(ctx, command, trace_environment())
    timeout = min(float(args.get("timeout_s", ctx.bash_timeout_s)), ctx.bash_timeout_s)
    output = CappedOutput(max(ctx.output_cap_bytes - NOTE_ROOM, 0))
    loop = asyncio.get_running_loop()
    starting = asyncio.ensure_future(
        loop.subprocess_exec(
            lambda: _Shell(output),
            *argv,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            cwd=ctx.sandbox.root,
            env=env,
            start_new_session=True,
        )
    )
    try:
        transport, shell = await asyncio.shield(starting)
    except asyncio.CancelledError:
        # Cancelled while starting: asyncio would kill only the shell and leave what it already spawned,
        # so let the start finish and kill the whole group then.
        starting.add_done_callback(_stop_started)
        raise
    # start_new_session: the shell (or bwrap, whose death takes the sandbox along) leads a new group.
    group = transport.get_pid()
    try:
        done, _ = await asyncio.wait({shell.exited}, timeout=timeout)
        timed_out = not done
        _kill_group(group)
        await shell.exited
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(asyncio.shield(shell.closed), DRAIN_GRACE_S)
    finally:
        # Also on cancellation (the step was interrupted): nothing the command started survives it.
        _kill_group(group)
        transport.close()
    text = output.text().removesuffix("\n") or "(no output)"
    if timed_out:
        return ToolOutcome(
            f"{text}\n[timed out after {timeout:g} s: the command and its child processes were killed]",
            is_error=True,
        )
    code = transport.get_returncode()
    assert code is not None  # the shell has exited
    status = f"[exit code {code}]" if code >= 0 else f"[killed by signal {-code}]"
    return ToolOutcome(f"{text}\n{status}", is_error=code != 0)


def _launch(ctx: ToolContext, command: str, extra_env: dict[str, str]) -> tuple[list[str], dict[str, str]]:
    """The program to start for `command` and its environment (plus `extra_env`): the shell inside
    bwrap, or alone."""
    if not ctx.bash_sandbox.enabled:
        return [SHELL, "-c", command], {**_environment(), **extra_env}
    if ctx.sandbox.root == Path("/"):
        raise Refused("refused: the workspace is '/', so the sandbox would leave every path writable")
    bwrap = os_sandbox.find_bwrap()
    if bwrap is None:
        raise Refused(os_sandbox.missing_bwrap_message())
    env = {**os_sandbox.environment(ctx.sandbox.root), **extra_env}
    prefix = os_sandbox.bwrap_command(bwrap, ctx.sandbox.root, ctx.bash_sandbox.network, env)
    return [*prefix, SHELL, "-c", command], env


def _environment() -> dict[str, str]:
    env = {name: os.environ[name] for name in INHERITED_ENV if name in os.environ}
    env.setdefault("PATH", os.defpath)
    # No terminal is attached: ask programs for plain output without colours or pagers.
    env.update(TERM="dumb", PAGER="cat", GIT_PAGER="cat")
    return env


def _stop_started(starting: asyncio.Future[tuple[asyncio.SubprocessTransport, _Shell]]) -> None:
    if starting.cancelled() or starting.exception() is not None:
        return
    transport, _ = starting.result()
    _kill_group(transport.get_pid())
    transport.close()


def _kill_group(group: int) -> None:
    # Gone already (no process left in the group) is the normal case after a clean exit.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(group, signal.SIGKILL)


BASH = Tool(
    name="Bash",
    description=(
        "Run a shell command with `/bin/sh -c` in the workspace directory. Returns the combined stdout "
        "and stderr, then the exit code; a non-zero exit is an error result. stdin is empty, so "
        "interactive commands will not work. Unless the workflow turned the sandbox off, the command runs "
        "in one: only the workspace (and a private /tmp) is writable, and there is no network unless "
        "the step allows it. The command is killed, with every process it started, at its timeout; "
        "background processes do not outlive the call. Long output keeps its beginning and end. For "
        "file work prefer Read, Write, Edit, Glob, Grep and LS."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "command": {"type": "string", "description": "The shell command to run."},
            "timeout_s": {
                "type": "number",
                "exclusiveMinimum": 0,
                "description": "Seconds before the command is killed; defaults to, and cannot exceed, the "
                "step's Bash time limit.",
            },
        },
        "required": ["command"],
        "additionalProperties": False,
    },
    handler=bash,
)
