"""Diagnostics: one located message per problem found in a workflow file, and the error that carries them."""

from __future__ import annotations

from typing import Literal, NamedTuple

Severity = Literal["error", "warning"]


# NamedTuples rather than dataclasses here and in the modules `pipeline validate` imports: the same
# fields, order and immutability, but a dataclass compiles its methods when its module is imported,
# which costs about ten times as much, and that start-up is measured (bench/bench_validate.py).
class Diagnostic(NamedTuple):
    """A problem at `file:line:col` (1-based; 0 when it concerns the whole file) and key path."""

    file: str
    line: int
    col: int
    path: str
    message: str
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}:{self.col}" if self.line else self.file
        label = "warning: " if self.severity == "warning" else ""
        subject = f"{self.path}: " if self.path else ""
        return f"{where}: {label}{subject}{self.message}"


class WorkflowError(Exception):
    """Raised by `LoadResult.raise_for_errors()` when a workflow file has errors."""

    def __init__(self, diagnostics: list[Diagnostic]) -> None:
        super().__init__("\n".join(str(d) for d in diagnostics))
        self.diagnostics = diagnostics
