"""Collects the diagnostics of one file, placing each at the line and column of the key or value."""

from __future__ import annotations

import re
from typing import Any

from engine.workflow.errors import Diagnostic, Severity
from engine.workflow.sourced import locate
from engine.workflow.suggest import did_you_mean, one_of
from engine.workflow.yaml_source import Mark, RawPath, YamlDocument


def display_path(path: RawPath) -> str:
    """`steps[2].claude_options.stream_handler` (the leading `workflow` is implied)."""
    parts = path[1:] if path[:1] == ("workflow",) and len(path) > 1 else path
    text = ""
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text


def describe_value(value: Any) -> str:
    """How a wrong value is named in a message."""
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list | tuple):
        return "a list"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"'{shown}'"
    return repr(value)


class Report:
    """Diagnostics for one file, located through the document's recorded positions."""

    def __init__(self, file: str, document: YamlDocument | None = None) -> None:
        self.file = file
        self.document = document
        self._found: dict[tuple[int, int, str, str, str], Diagnostic] = {}

    @property
    def errors(self) -> list[Diagnostic]:
        return sorted(d for d in self._found.values() if d.severity == "error")

    @property
    def warnings(self) -> list[Diagnostic]:
        return sorted(d for d in self._found.values() if d.severity == "warning")

    def add(self, mark: Mark | None, path: RawPath, message: str, severity: Severity = "error") -> None:
        line, col = (mark.line, mark.col) if mark else (0, 0)
        key = (line, col, severity, display_path(path), message)
        # Defaults merged into every step would otherwise repeat one mistake per step.
        self._found.setdefault(key, Diagnostic(self.file, line, col, display_path(path), message, severity))

    def at_key(self, path: RawPath, message: str, severity: Severity = "error") -> None:
        """A problem with a key itself (unknown, misspelt, no effect): placed on the key."""
        mark = self.document.keys.get(path) if self.document else None
        self.add(mark or self.value_mark(path), path, message, severity)

    def at_value(self, path: RawPath, message: str, severity: Severity = "error") -> None:
        """A problem with the value at `path`: placed on the value."""
        self.add(self.value_mark(path), path, message, severity)

    def at_text(self, path: RawPath, needle: str, message: str, severity: Severity = "error") -> None:
        """A problem with `needle` inside the string at `path`: placed on that text when it is found."""
        mark = self.value_mark(path)
        if mark and self.document and mark.end > mark.start:
            offset = self.document.text.find(needle, mark.start, mark.end)
            if offset >= 0:
                text = self.document.text
                line = text.count("\n", 0, offset) + 1
                mark = Mark(line, offset - (text.rfind("\n", 0, offset) + 1) + 1)
        self.add(mark, path, message, severity)

    def raw_value(self, path: RawPath) -> Any:
        """The value at `path` as written in the file (None when there is none)."""
        value = self.document.data if self.document else None
        for part in path:
            in_list = isinstance(value, list) and isinstance(part, int) and 0 <= part < len(value)
            if in_list or (isinstance(value, dict) and part in value):
                value = value[part]
            else:
                return None
        return value

    def value_mark(self, path: RawPath) -> Mark | None:
        if self.document is None:
            return None
        for end in range(len(path), -1, -1):
            mark = self.document.values.get(path[:end])
            if mark is not None:
                return mark
        return None

    def validation_errors(self, root: Any, errors: list[Any]) -> None:
        """Place pydantic's errors for model input `root` (built from this file)."""
        for error in errors:
            path, value, rest = locate(root, tuple(error["loc"]))
            kind = error["type"]
            given = error.get("input")
            if kind == "too_short" and (
                (isinstance(given, list) and len(given) >= error["ctx"]["min_length"]) or self.raw_value(path)
            ):
                continue  # the items were there but invalid or unsupported: each is reported on its own
            if kind == "missing" and rest:
                self.at_value(path, f"missing required key '{rest[0]}'")
            elif kind == "extra_forbidden" and rest:
                self.at_key((*path, rest[0]), f"unknown key '{rest[0]}'")
            else:
                self.at_value(path, _message(error, value))


_QUOTED = r"'([^']*)'"  # compiled by `re` on first use: only files with mistakes need it


def _message(error: Any, value: Any) -> str:
    kind = error["type"]
    ctx = error.get("ctx") or {}
    given = error.get("input", value)
    shown = describe_value(given)
    if kind == "literal_error":
        allowed = re.findall(_QUOTED, str(ctx.get("expected", "")))
        hint = did_you_mean(given, allowed) if isinstance(given, str) else ""
        return f"expected {one_of(allowed)}, got {shown}{hint}"
    if kind == "union_tag_invalid":
        allowed = re.findall(_QUOTED, str(ctx.get("expected_tags", "")))
        tag = str(ctx.get("tag"))
        return f"unknown type '{tag}'; expected {one_of(allowed)}{did_you_mean(tag, allowed)}"
    simple = {
        "string_type": "expected text",
        "int_type": "expected a whole number",
        "int_parsing": "expected a whole number",
        "int_from_float": "expected a whole number",
        "float_type": "expected a number",
        "float_parsing": "expected a number",
        "finite_number": "expected a finite number",
        "bool_type": "expected true or false",
        "bool_parsing": "expected true or false",
        "dict_type": "expected a mapping",
        "model_type": "expected a mapping",
        "model_attributes_type": "expected a mapping",
        "tuple_type": "expected a list",
        "list_type": "expected a list",
    }
    if kind in simple:
        return f"{simple[kind]}, got {shown}"
    bounds = {
        "greater_than_equal": ("at least", "ge"),
        "greater_than": ("greater than", "gt"),
        "less_than_equal": ("at most", "le"),
        "less_than": ("less than", "lt"),
    }
    if kind in bounds:
        words, bound = bounds[kind]
        limit = ctx.get(bound)
        if isinstance(limit, float) and limit.is_integer():
            limit = int(limit)
        return f"must be {words} {limit}, got {shown}"
    if kind == "too_short":
        return "must not be empty"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "value_error":
        return str(ctx.get("error", error["msg"]))
    return str(error["msg"])
