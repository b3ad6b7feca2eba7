"""The console handler: text to the terminal as it arrives, one `[step]` prefix per line.

While one step streams, its text is written the moment it arrives. While several stream at once,
each step's partial line is held until it ends, so lines of parallel steps never mix mid-line.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from typing import Any, TextIO

from engine.events import (
    Event,
    Interrupted,
    Retrying,
    StepFinished,
    ThinkingDelta,
    ToolCall,
    ToolResult,
)
from engine.handlers.base import HandlerContext, HandlerEnvironment, StreamHandler
from engine.inert import inert_text
from engine.workflow.model import ConsoleHandlerOptions

_COLOURS = ("36", "35", "33", "32", "34", "91", "96", "95")
_DIM = "2"


def colour_wanted(stream: TextIO, option: Any = None) -> bool:
    if option is not None:
        return bool(option)
    if os.environ.get("NO_COLOR"):
        return False
    return hasattr(stream, "isatty") and stream.isatty()


class ConsoleWriter:
    """The one writer all console handlers of a run share, so their lines never interleave.

    Everything it writes is made inert first (control sequences shown, never obeyed): model text,
    tool output and names all come from outside.
    """

    def __init__(self, stream: TextIO | None = None, colour: bool | None = None) -> None:
        self.stream = stream or sys.stdout
        self.colour = colour_wanted(self.stream, colour)
        self._active: list[str] = []
        self._held: dict[str, list[str]] = {}
        self._open_line: str | None = None  # the step whose line the cursor is in the middle of
        self._colours: dict[str, str] = {}

    def _paint(self, code: str, text: str) -> str:
        return f"\x1b[{code}m{text}\x1b[0m" if self.colour else text

    def prefix(self, step_id: str) -> str:
        code = self._colours.setdefault(step_id, _COLOURS[len(self._colours) % len(_COLOURS)])
        return self._paint(code, f"[{inert_text(step_id)}]") + " "

    def begin(self, step_id: str) -> None:
        if step_id not in self._active:
            self._active.append(step_id)
        if len(self._active) > 1 and self._open_line is not None:
            # Entering line mode: end the open line so no two steps ever share one.
            self.stream.write("\n")
            self._open_line = None

    def end(self, step_id: str) -> None:
        held = "".join(self._held.pop(step_id, ()))
        if held:
            self._write_lines(step_id, held + "\n")
        elif self._open_line == step_id:
            self.stream.write("\n")
            self._open_line = None
        if step_id in self._active:
            self._active.remove(step_id)
        self.stream.flush()

    def text(self, step_id: str, text: str) -> None:
        text = inert_text(text)
        if len(self._active) > 1:
            held = self._held.setdefault(step_id, [])
            cut = text.rfind("\n")
            if cut < 0:
                held.append(text)
                return
            held.append(text[: cut + 1])
            whole = "".join(held)
            self._held[step_id] = [text[cut + 1 :]] if cut + 1 < len(text) else []
            self._write_lines(step_id, whole)
        else:
            held = self._held.pop(step_id, None)
            self._write_lines(step_id, "".join(held) + text if held else text)
        self.stream.flush()

    def line(self, step_id: str, text: str, dim: bool = False) -> None:
        """A whole line of its own (tool call, retry notice, stats)."""
        if self._open_line is not None:
            self.stream.write("\n")
            self._open_line = None
        text = inert_text(text)
        self.stream.write(self.prefix(step_id) + (self._paint(_DIM, text) if dim else text) + "\n")
        self.stream.flush()

    def _write_lines(self, step_id: str, text: str) -> None:
        out = []
        if self._open_line is not None and self._open_line != step_id:
            out.append("\n")
            self._open_line = None
        at_line_start = self._open_line is None
        prefix = self.prefix(step_id)
        for piece in text.splitlines(keepends=True):
            if at_line_start:
                out.append(prefix)
            out.append(piece)
            at_line_start = piece.endswith("\n")
        self._open_line = None if at_line_start else step_id
        self.stream.write("".join(out))


class ConsoleHandler(StreamHandler):
    name = "console"

    def __init__(
        self, context: HandlerContext, options: ConsoleHandlerOptions, env: HandlerEnvironment
    ) -> None:
        super().__init__(context, options, env)
        if env.console is None:
            env.console = ConsoleWriter(colour=options.color)
        self.writer = env.console
        self.show_tools = options.show_tools
        self.show_stats = options.show_stats

    @classmethod
    def wanted(cls, env: HandlerEnvironment) -> bool:
        return env.console_enabled

    async def open(self) -> None:
        self.writer.begin(self.context.step_id)

    async def handle(self, chunks: Sequence[str]) -> None:
        self.writer.text(self.context.step_id, "".join(chunks))

    async def handle_event(self, event: Event) -> None:
        step = self.context.step_id
        if type(event) is ThinkingDelta:
            return  # thinking is shown in the dashboard; on a console it would bury the answer
        if type(event) is ToolCall and self.show_tools:
            args = json.dumps(event.input, ensure_ascii=False)
            self.writer.line(step, f"-> {event.name} {args[:200]}", dim=True)
        elif type(event) is ToolResult and self.show_tools:
            status = "error" if event.is_error else "ok"
            first = event.output.strip().splitlines()[0][:160] if event.output.strip() else ""
            self.writer.line(step, f"<- {event.name} {status}: {first}", dim=True)
        elif type(event) is Retrying:
            self.writer.line(
                step, f"attempt {event.attempt}/{event.max_attempts} after {event.reason}, starting over"
            )
        elif type(event) is Interrupted:
            self.writer.line(step, f"interrupted: {event.reason}")
        elif type(event) is StepFinished and self.show_stats:
            m = event.metrics
            ttft = f"{m.ttft_s * 1000:.0f} ms" if m.ttft_s is not None else "-"
            rate = f"{m.output_tokens_per_s:.0f} tok/s" if m.output_tokens_per_s else "-"
            self.writer.line(
                step,
                f"{event.status} in {m.duration_s:.1f}s, first token {ttft}, {m.output_tokens} tokens out, "
                f"{rate}, ${m.cost_usd:.4f}",
                dim=True,
            )

    async def close(self, finished: StepFinished | None) -> None:
        self.writer.end(self.context.step_id)
