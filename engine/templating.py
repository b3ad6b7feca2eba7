"""Prompt assembly: prompt parts and `{{...}}` references resolved against earlier results and vars.

References: `{{steps.NAME.text}}`, `{{steps.NAME.data.a.b}}`, `{{steps.NAME.status}}`, `{{vars.NAME}}`,
`{{item}}` (batch items). The same resolver serves step conditions.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

REFERENCE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")


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
    return json.dumps(value, ensure_ascii=False, indent=2)


def render(template: str, scope: Scope) -> str:
    return REFERENCE.sub(lambda m: _as_text(scope.resolve(m.group(1))), template)


def assemble_prompt(parts: Any, scope: Scope) -> str:
    """Join the step's prompt parts into one user message."""
    if isinstance(parts, str):
        return render(parts, scope)
    pieces: list[str] = []
    for part in parts:
        kind = getattr(part, "type", "static")
        if kind == "static":
            pieces.append(render(part.content, scope))
        elif kind == "file":
            path = Path(render(str(part.path), scope))
            try:
                pieces.append(path.read_text(encoding="utf-8"))
            except OSError as exc:
                raise PromptError(f"prompt file {str(path)!r} cannot be read: {exc.strerror or exc}") from exc
            except UnicodeDecodeError as exc:
                raise PromptError(f"prompt file {str(path)!r} is not UTF-8 text") from exc
        elif kind == "previous_response":
            pieces.append(_previous_response(part, scope))
        elif kind == "session_context":
            pieces.append(_session_context(part, scope))
        else:
            raise PromptError(f"prompt part type {kind!r} is not supported")
    return "\n\n".join(piece for piece in pieces if piece)


def _previous_response(part: Any, scope: Scope) -> str:
    result = scope.results.get(part.step)
    strict = getattr(part, "strict", True)
    if result is None:
        if strict:
            raise PromptError(f"previous_response: step {part.step!r} has no result (not run yet or skipped)")
        return ""
    extract = getattr(part, "extract", None)
    if not extract:
        return result.text
    try:
        return _as_text(_dig(result.data, extract.split("."), f"steps.{part.step}.data.{extract}"))
    except PromptError:
        if strict:
            raise
        return ""


def _session_context(part: Any, scope: Scope) -> str:
    from engine.sessions import SessionError, session_transcript

    try:
        return session_transcript(scope.workspace or Path("."), part.session_name, part.include_last_n)
    except SessionError as exc:
        raise PromptError(str(exc)) from exc
