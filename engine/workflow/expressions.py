"""The syntax shared by `pipeline validate` and the run: what a condition may contain, which `{{...}}`
are references, and where a prompt `file` part is read from. One definition, so what validates runs.

Plain Python (no engine imports): it sits in the bottom layer, under the workflow checks that use it
for validate and under `engine.conditions` and `engine.templating` that use it at run time.
"""

from __future__ import annotations

import ast
import operator
import os
import re
import stat
from pathlib import Path

# Templates -----------------------------------------------------------------------------------------

REFERENCE = re.compile(r"\{\{\s*([^{}]+?)\s*\}\}")
# What `{{...}}` can name; anything else is left in the prompt as written (validate warns about it).
REFERENCE_HEADS = ("steps", "vars", "item")


def is_reference(expression: str) -> bool:
    """Whether `{{expression}}` is filled in. Anything else stays in the prompt as written; validate
    calls it "left as is" by asking this same function."""
    return expression.strip().split(".")[0] in REFERENCE_HEADS


# Prompt files --------------------------------------------------------------------------------------

MIB = 1024 * 1024
MAX_PROMPT_FILE_BYTES = 10 * MIB


def resolve_prompt_file(name: str, base_dir: Path | None) -> Path:
    """Where a prompt `file` part is read from: relative paths from the workflow file's folder.
    Validate checks the same path."""
    path = Path(name)
    return path if path.is_absolute() or base_dir is None else base_dir / path


def prompt_file_problem(info: os.stat_result) -> str | None:
    """Why a file with this status is not read as a prompt part (None when it is fine): only regular
    files, since a FIFO, a device or a socket could block forever or never end."""
    mode = info.st_mode
    if stat.S_ISREG(mode):
        if info.st_size > MAX_PROMPT_FILE_BYTES:
            return (
                f"is {info.st_size / MIB:.1f} MiB; prompt files are limited to "
                f"{MAX_PROMPT_FILE_BYTES // MIB} MiB"
            )
        return None
    if stat.S_ISDIR(mode):
        kind = "a directory"
    elif stat.S_ISFIFO(mode):
        kind = "a FIFO (named pipe)"
    elif stat.S_ISSOCK(mode):
        kind = "a socket"
    elif stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        kind = "a device"
    else:
        kind = "a special file"
    return f"is {kind}, not a regular file"


# Conditions ----------------------------------------------------------------------------------------

COMPARE = {
    ast.Eq: operator.eq,
    ast.NotEq: operator.ne,
    ast.Lt: operator.lt,
    ast.LtE: operator.le,
    ast.Gt: operator.gt,
    ast.GtE: operator.ge,
    ast.In: lambda a, b: a in b,
    ast.NotIn: lambda a, b: a not in b,
}


# Bounds that keep parsing and evaluating cheap and flat: real conditions are a line or two.
MAX_CONDITION_CHARS = 2000
MAX_CONDITION_DEPTH = 32  # nested operators (`not not ...`, brackets); Python's parser recurses per level

_ALLOWED = (
    ast.BoolOp,
    ast.And,
    ast.Or,
    ast.UnaryOp,
    ast.Not,
    ast.Compare,
    ast.Name,
    ast.Attribute,
    ast.Constant,
    ast.Load,
    ast.List,
    ast.Tuple,
    *COMPARE,
)
# What users write that is refused, in their words (any other node: its Python name).
_REFUSED = {
    ast.Call: "function calls",
    ast.BinOp: "arithmetic",
    ast.USub: "arithmetic (a minus sign)",
    ast.UAdd: "arithmetic",
    ast.Invert: "arithmetic",
    ast.Subscript: "indexing ([...])",
    ast.Lambda: "lambdas",
    ast.IfExp: "if/else expressions",
    ast.NamedExpr: "assignments",
}


class ConditionError(Exception):
    pass


def shown(source: str) -> str:
    """A condition as quoted in a one-line message: whitespace folded, at most 80 characters."""
    text = " ".join(source.split())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def parse_condition(source: str) -> ast.expr:
    """Parse and check a condition; raises ConditionError naming what is not allowed. The one check
    both `pipeline validate` and the run use, so a condition that validates also runs."""
    text = source.strip()
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionError(
            f"condition {shown(source)} is {len(text)} characters long; conditions are limited to "
            f"{MAX_CONDITION_CHARS}"
        )
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"condition {shown(source)} is not a valid expression: {exc.msg}") from None
    except (RecursionError, MemoryError):
        raise ConditionError(_too_deep(source)) from None
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_CONDITION_DEPTH:
            raise ConditionError(_too_deep(source))
        if not isinstance(node, _ALLOWED):
            refused = _REFUSED.get(type(node), type(node).__name__)
            raise ConditionError(
                f"condition {shown(source)} uses {refused}, which conditions do not allow "
                "(only names, literals, comparisons, and/or/not, in)"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def _too_deep(source: str) -> str:
    return f"condition {shown(source)} is nested more than {MAX_CONDITION_DEPTH} levels deep"


