"""What every tool shares: the outcome type, the two failure exceptions, input validation and output caps."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from jsonschema import Draft202012Validator

from engine.tools.os_sandbox import CONFINED, BashSandbox
from engine.tools.sandbox import Sandbox

# The first bytes of a file decide whether it is text: a NUL byte there means binary (as git and grep do).
BINARY_SNIFF_BYTES = 8192


@dataclass(frozen=True, slots=True)
class ToolOutcome:
    """One tool call's result as it goes back to Claude; `refused` marks a sandbox refusal."""

    output: str
    is_error: bool = False
    refused: bool = False


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a tool handler may use: the workspace's path sandbox, Bash's OS sandbox and the limits of
    this tool box."""

    sandbox: Sandbox
    bash_timeout_s: float
    output_cap_bytes: int
    bash_sandbox: BashSandbox = CONFINED


Handler = Callable[[ToolContext, dict[str, Any]], Awaitable[ToolOutcome]]


def in_thread(work: Callable[[ToolContext, dict[str, Any]], str]) -> Handler:
    """A handler running blocking file work in a worker thread, so the event loop keeps streaming tokens."""

    async def handler(ctx: ToolContext, args: dict[str, Any]) -> ToolOutcome:
        return ToolOutcome(await asyncio.to_thread(work, ctx, args))

    return handler


@dataclass(frozen=True)
class Tool:
    """A tool's definition for the Messages API and the handler that runs a validated call."""

    name: str
    description: str
    input_schema: dict[str, Any]
    handler: Handler
    validator: Draft202012Validator = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        Draft202012Validator.check_schema(self.input_schema)
        object.__setattr__(self, "validator", Draft202012Validator(self.input_schema))

    def definition(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema}

    def input_problems(self, tool_input: object) -> list[str]:
        """Every way `tool_input` breaks the schema, each naming the field concerned."""
        problems = []
        for error in sorted(self.validator.iter_errors(tool_input), key=lambda e: [str(p) for p in e.path]):
            where = ".".join(str(part) for part in error.absolute_path)
            problems.append(f"{where}: {error.message}" if where else error.message)
        return problems


def looks_binary(head: bytes) -> bool:
    return b"\x00" in head[:BINARY_SNIFF_BYTES]


def cap_output(text: str, cap_bytes: int) -> str:
    """`text` cut to at most `cap_bytes` UTF-8 bytes, the note saying so included."""
    data = text.encode("utf-8", "replace")
    if len(data) <= cap_bytes:
        return text
    note = f"\n[output truncated: {len(data)} bytes, over the {cap_bytes}-byte cap; narrow the request]"
    kept = data[: max(cap_bytes - len(note.encode()), 0)]
    # A cut inside a multi-byte character would otherwise decode to a replacement glyph.
    return kept.decode("utf-8", "ignore") + note


def lines_with_note(lines: list[str], note: str) -> str:
    """Output lines, then a note for Claude (what was left out and how to get it), if any."""
    return "\n".join([*lines, note] if note else lines)
