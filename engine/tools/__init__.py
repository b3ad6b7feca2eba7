"""The sandboxed tools Claude can call in a step's agent loop: Read, Write, Edit, Glob, Grep, LS and Bash.

`ToolBox` offers a step's enabled tools to the Messages API and runs Claude's calls; every path stays
inside the workspace (see `sandbox`), and Bash, which path checks cannot confine, is opt-in and runs in
an OS sandbox (see `bash` and `os_sandbox`).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from engine.tools.base import Tool, ToolContext, ToolOutcome, cap_output
from engine.tools.bash import BASH
from engine.tools.files import EDIT, READ, WRITE
from engine.tools.os_sandbox import CONFINED, BashSandbox, bash_sandbox
from engine.tools.sandbox import Refused, Sandbox, ToolError
from engine.tools.search import GLOB, GREP, LS

__all__ = ["TOOL_NAMES", "BashSandbox", "ToolBox", "ToolOutcome", "bash_sandbox"]

TOOLS: dict[str, Tool] = {tool.name: tool for tool in (READ, WRITE, EDIT, GLOB, GREP, LS, BASH)}
TOOL_NAMES: tuple[str, ...] = tuple(TOOLS)

logger = logging.getLogger(__name__)


class ToolBox:
    """The tools one step may use, bound to its workspace (created if missing) and limits."""

    def __init__(
        self,
        workspace: Path,
        allowed: Sequence[str],
        disallowed: Sequence[str] = (),
        bash_timeout_s: float = 30.0,
        output_cap_bytes: int = 30_000,
        bash_sandbox: BashSandbox = CONFINED,
    ) -> None:
        unknown = sorted((set(allowed) | set(disallowed)) - set(TOOL_NAMES))
        if unknown:
            raise ValueError(f"unknown tools {unknown}; known tools are {list(TOOL_NAMES)}")
        if bash_timeout_s <= 0 or output_cap_bytes <= 0:
            raise ValueError("bash_timeout_s and output_cap_bytes must be positive")
        self.names: tuple[str, ...] = tuple(n for n in TOOL_NAMES if n in allowed and n not in disallowed)
        sandbox = Sandbox(Path(workspace))
        self._context = ToolContext(sandbox, bash_timeout_s, output_cap_bytes, bash_sandbox)

    def definitions(self) -> list[dict[str, Any]]:
        """The enabled tools in the form of the Messages API's `tools` parameter."""
        return [TOOLS[name].definition() for name in self.names]

    async def run(self, name: str, tool_input: dict[str, Any]) -> ToolOutcome:
        """Run one tool call. Never raises for anything the model or the filesystem does: refusals and
        failures come back as error outcomes for Claude to read."""
        outcome = await self._run(name, tool_input)
        return ToolOutcome(
            cap_output(outcome.output, self._context.output_cap_bytes), outcome.is_error, outcome.refused
        )

    async def _run(self, name: str, tool_input: Any) -> ToolOutcome:
        if name not in self.names:
            reason = "is not allowed in this step" if name in TOOLS else "does not exist"
            enabled = ", ".join(self.names) or "none"
            return ToolOutcome(f"refused: tool '{name}' {reason} (enabled tools: {enabled})", True, True)
        tool = TOOLS[name]
        problems = tool.input_problems(tool_input)
        if problems:
            return ToolOutcome(f"error: invalid input for {name}: " + "; ".join(problems), is_error=True)
        try:
            return await tool.handler(self._context, tool_input)
        except Refused as exc:
            return ToolOutcome(str(exc), is_error=True, refused=True)
        except ToolError as exc:
            return ToolOutcome(f"error: {exc}", is_error=True)
        except OSError as exc:
            return ToolOutcome(f"error: {self._describe(exc)}", is_error=True)
        except Exception as exc:
            # A bug in a tool must not end the step: Claude gets an error result, the log gets the trace.
            logger.exception("tool %s failed", name)
            message = f"error: {name} failed unexpectedly: {type(exc).__name__}: {exc}"
            return ToolOutcome(message, is_error=True)

    def _describe(self, exc: OSError) -> str:
        """An OS error in the model's terms: the workspace-relative path, not the engine's absolute one."""
        reason = exc.strerror or str(exc)
        if not exc.filename:
            return reason
        path = Path(str(exc.filename))
        shown = self._context.sandbox.shown(path) if self._context.sandbox.contains(path) else path.name
        return f"{reason}: '{shown}'"
