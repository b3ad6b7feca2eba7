"""Prompt assembly: prompt parts and `{{...}}` references resolved against earlier results and vars.

References: `{{steps.NAME.text}}`, `{{steps.NAME.data.a.b}}`, `{{steps.NAME.status}}`, `{{vars.NAME}}`,
`{{item}}` (batch items). The same resolver serves step conditions.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar

from engine.workflow.expressions import (
    MAX_PROMPT_FILE_BYTES,
    MIB,
    REFERENCE,
    is_reference,
    prompt_file_problem,
    resolve_prompt_file,
)
from engine.workflow.model import PreviousResponsePart, PromptPart, SessionContextPart

MAX_PROMPT_BYTES = 20 * MIB  # one user message, assembled: a runaway template fails instead of eating memory
PROMPT_FILE_TIMEOUT_S = 10.0  # a regular file reads in milliseconds; a stuck network mount gets this long

T = TypeVar("T")


class PromptError(Exception):
    """A prompt could not be assembled (a missing step result, file or value)."""


class ResultView(Protocol):
    status: str
    reason: str

    @property
    def text(self) -> str: ...

    @property
    def data(self) -> Any: ...


@dataclass
class Scope:
    """What references can see: earlier step results, workflow vars, and the current batch item."""

    results: Mapping[str, ResultView]
    vars: Mapping[str, str] = field(default_factory=dict)
    item: Any = None
    workspace: Path | None = None
    # Relative prompt `file` paths are read from here: the workflow file's folder (None: the current one).
    base_dir: Path | None = None

    def with_item(self, item: Any) -> Scope:
        """This scope for one batch item (built directly: `dataclasses.replace` costs 4 us, per item)."""
        return Scope(self.results, self.vars, item, self.workspace, self.base_dir)

    def resolve(self, ref: str) -> Any:
        parts = ref.strip().split(".")
        head = parts[0]
        if head == "item" and self.item is not None:
            return _dig(self.item, parts[1:], ref)
        if head == "vars" and len(parts) == 2:
            if parts[1] not in self.vars:
                raise PromptError(f"{{{{{ref}}}}}: no value for var {parts[1]!r} (use --var {parts[1]}=...)")
            return self.vars[parts[1]]
        if head == "steps" and len(parts) >= 3:
            result = self.results.get(parts[1])
            if result is None:
                raise PromptError(f"{{{{{ref}}}}}: step {parts[1]!r} has no result (not run yet or skipped)")
            attr = parts[2]
            if attr in ("text", "output", "response"):
                return result.text
            if attr == "status":
                return result.status
            if attr == "reason":
                return result.reason
            if attr in ("data", "result"):
                return _dig(result.data, parts[3:], ref)
        raise PromptError(f"{{{{{ref}}}}} is not a reference this runner knows")


def _dig(value: Any, path: list[str], ref: str) -> Any:
    for key in path:
        if isinstance(value, Mapping) and key in value:
            value = value[key]
        elif isinstance(value, list | tuple) and key.isdigit() and int(key) < len(value):
            value = value[int(key)]
        else:
            raise PromptError(f"{{{{{ref}}}}}: no {key!r} in the result")
    return value


def _as_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    # A batch step's data is a read-only mapping (engine.steps.fanout.TaskResults): shown as a dict.
    return json.dumps(value, ensure_ascii=False, indent=2, default=_plain)


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON")


class _Size:
    """The assembled prompt's size in UTF-8 bytes, checked as each piece is added (not after joining:
    thousands of `{{vars.x}}` of a long value must fail before they are all in memory)."""

    def __init__(self, limit: int = MAX_PROMPT_BYTES) -> None:
        self.limit = limit
        self.bytes = 0

    def add(self, text: str) -> str:
        # isascii() is O(1) in CPython; only non-ASCII text pays for encoding.
        self.bytes += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if self.bytes > self.limit:
            raise PromptError(
                f"the prompt is larger than {self.limit // MIB} MiB (templates or files expand too much)"
            )
        return text


def render(template: str, scope: Scope, size: _Size | None = None) -> str:
    size = size or _Size()
    pieces: list[str] = []
    last = 0
    for match in REFERENCE.finditer(template):
        pieces.append(size.add(template[last : match.start()]))
        expression = match.group(1)
        value = _as_text(scope.resolve(expression)) if is_reference(expression) else match.group(0)
        pieces.append(size.add(value))
        last = match.end()
    pieces.append(size.add(template[last:]))
    return "".join(pieces)


async def assemble_prompt(parts: str | Sequence[PromptPart], scope: Scope) -> str:
    """Join the step's prompt parts into one user message (files are read off the event loop)."""
    size = _Size()
    if isinstance(parts, str):
        return render(parts, scope, size)
    pieces: list[str] = []
    for part in parts:
        kind = part.type
        if kind == "static":
            piece = render(part.content, scope, size)
        elif kind == "file":
            path = resolve_prompt_file(render(str(part.path), scope), scope.base_dir)
            try:
                piece = size.add(await _in_thread(read_prompt_file, path, timeout=PROMPT_FILE_TIMEOUT_S))
            except TimeoutError:
                raise PromptError(
                    f"prompt file {str(path)!r} could not be read in {PROMPT_FILE_TIMEOUT_S:g} s"
                ) from None
        elif kind == "previous_response":
            piece = size.add(_previous_response(part, scope))
        elif kind == "session_context":
            piece = size.add(_session_context(part, scope))
        else:
            raise PromptError(f"prompt part type {kind!r} is not supported")
        if piece:
            pieces.append(piece)
            size.add("\n\n")
    return "\n\n".join(pieces)


# Prompt files -------------------------------------------------------------------------------------


def read_prompt_file(path: Path) -> str:
    """The UTF-8 text of a regular file of at most MAX_PROMPT_FILE_BYTES; PromptError otherwise.
    Blocking: run it through `_in_thread`."""
    shown = repr(str(path))
    try:
        problem = prompt_file_problem(os.stat(path))
        if problem:
            raise PromptError(f"prompt file {shown} {problem}")
        # O_NONBLOCK: had the file been swapped for a FIFO since the stat, opening it must not wait.
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC)
        with os.fdopen(fd, "rb") as file:
            problem = prompt_file_problem(os.fstat(file.fileno()))
            if problem:
                raise PromptError(f"prompt file {shown} {problem}")
            data = file.read(MAX_PROMPT_FILE_BYTES + 1)
    except OSError as exc:
        raise PromptError(f"prompt file {shown} cannot be read: {exc.strerror or exc}") from None
    if len(data) > MAX_PROMPT_FILE_BYTES:  # it grew since the stat (or /proc-like, with no size)
        raise PromptError(f"prompt file {shown} is larger than {MAX_PROMPT_FILE_BYTES // MIB} MiB")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PromptError(f"prompt file {shown} is not UTF-8 text") from None


async def _in_thread(fn: Callable[..., T], *args: Any, timeout: float) -> T:
    """`fn(*args)` in a daemon thread, awaited for at most `timeout` seconds. Not the default executor
    (`asyncio.to_thread`): a read stuck in the kernel would then keep `asyncio.run` and the interpreter
    from exiting; a daemon thread is abandoned at exit."""
    loop = asyncio.get_running_loop()
    future: asyncio.Future[T] = loop.create_future()

    def settle(result: Any, error: BaseException | None) -> None:
        if future.done():  # the caller gave up (timeout, cancellation)
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    def work() -> None:
        try:
            outcome: tuple[Any, BaseException | None] = (fn(*args), None)
        except BaseException as error:
            outcome = (None, error)
        with contextlib.suppress(RuntimeError):  # the loop closed while the thread worked
            loop.call_soon_threadsafe(settle, *outcome)

    threading.Thread(target=work, name=f"read:{getattr(fn, '__name__', 'io')}", daemon=True).start()
    async with asyncio.timeout(timeout):
        return await future


def _previous_response(part: PreviousResponsePart, scope: Scope) -> str:
    result = scope.results.get(part.step)
    strict = part.strict
    if result is None:
        if strict:
            raise PromptError(f"previous_response: step {part.step!r} has no result (not run yet or skipped)")
        return ""
    extract = part.extract
    if not extract:
        return result.text
    try:
        return _as_text(_dig(result.data, extract.split("."), f"steps.{part.step}.data.{extract}"))
    except PromptError:
        if strict:
            raise
        return ""


def _session_context(part: SessionContextPart, scope: Scope) -> str:
    from engine.sessions import SessionError, session_transcript

    try:
        return session_transcript(scope.workspace or Path("."), part.session_name, part.include_last_n)
    except SessionError as exc:
        raise PromptError(str(exc)) from exc
