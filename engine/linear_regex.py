"""Regular expressions from workflow files, matched in time linear in the text (RE2).

A `stop_on` pattern runs on the event loop against every text delta; Python's `re` backtracks, so a
pattern like `(a+)+$` against `aaaa...ab` would freeze the process (and with it every timeout and
signal handler). RE2 has no backtracking: it refuses the few constructs that need it instead.
Validation (`engine.workflow.rules.regex`) and the run (`engine.meter`) both compile through here,
so what validates is exactly what runs.
"""

from __future__ import annotations

import re
from typing import Any

import re2

_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # RE2 would print each refused pattern on stderr; the caller says it once

# What RE2 refuses that Python's `re` accepts, by the start of RE2's message, in words a user knows.
_UNSUPPORTED = (
    ("invalid perl operator: (?=", "lookahead (?=...)"),
    ("invalid perl operator: (?!", "negative lookahead (?!...)"),
    ("invalid perl operator: (?<=", "lookbehind (?<=...)"),
    ("invalid perl operator: (?<!", "negative lookbehind (?<!...)"),
    ("invalid perl operator: (?P=", "named backreferences (?P=name)"),
    ("invalid perl operator: (?>", "atomic groups (?>...)"),
    ("invalid perl operator: (?#", "comments (?#...)"),
    ("invalid perl operator: (?x", "verbose mode (?x)"),
    ("invalid perl operator: (?(", "conditional groups (?(...)...)"),
    ("invalid escape sequence: \\Z", "\\Z (write \\z for the end of the text)"),
    ("bad repetition operator: *+", "possessive quantifiers (*+, ++, ?+)"),
    ("bad repetition operator: ++", "possessive quantifiers (*+, ++, ?+)"),
    ("bad repetition operator: ?+", "possessive quantifiers (*+, ++, ?+)"),
    ("invalid repetition size", "repetition counts above 1000"),
    ("pattern too large", "patterns this large (they compile to more than RE2's memory limit)"),
)
_BACKREFERENCE = re.compile(r"invalid escape sequence: \\[1-9]")


class UnsupportedPattern(ValueError):
    """The pattern is not valid, or uses a construct that needs backtracking; the message is one line."""


def compile_linear(pattern: str) -> Any:
    """The compiled RE2 pattern (`search` returns a match with `group(0)`), or `UnsupportedPattern`."""
    try:
        return re2.compile(pattern, _OPTIONS)
    except re2.error as error:
        raise UnsupportedPattern(_explain(pattern, _message(error))) from None


def _message(error: Exception) -> str:
    detail = error.args[0] if error.args else ""
    return detail.decode("utf-8", "replace") if isinstance(detail, bytes) else str(detail)


def _explain(pattern: str, detail: str) -> str:
    shown = pattern if len(pattern) <= 80 else pattern[:77] + "..."
    construct = next((words for start, words in _UNSUPPORTED if detail.startswith(start)), None)
    if construct is None and _BACKREFERENCE.match(detail):
        construct = "backreferences (\\1, \\2, ...)"
    if construct is None:
        try:
            re.compile(pattern)
        except re.error as error:  # not a regular expression at all: say what Python's `re` says
            return f"not a valid regular expression: {error.msg} at position {error.pos}"
        construct = f"a construct RE2 refuses ({detail})"
    return (
        f"{shown!r} uses {construct}, which is not supported: patterns are matched in linear time "
        "(RE2), without backreferences, lookaround or possessive quantifiers"
    )
