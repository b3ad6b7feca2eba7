"""Step conditions: a small, safe expression language over earlier results.

Examples: `steps.review.status == 'succeeded'`, `steps.check.data.ok`, `not steps.lint.data.errors`,
`vars.mode == 'full' and steps.plan.text`. Only names, dots, literals, comparisons, `and`/`or`/`not`
and `in` are allowed: nothing is executed.
"""

from __future__ import annotations

import ast
import operator
from typing import Any

from engine.templating import PromptError, Scope

_COMPARE = {
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
    *_COMPARE,
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


def _shown(source: str) -> str:
    text = " ".join(source.split())
    return repr(text if len(text) <= 80 else text[:77] + "...")


def parse_condition(source: str) -> ast.expr:
    """Parse and check a condition; raises ConditionError naming what is not allowed. The one check
    both `pipeline validate` and the run use, so a condition that validates also runs."""
    text = source.strip()
    if len(text) > MAX_CONDITION_CHARS:
        raise ConditionError(
            f"condition {_shown(source)} is {len(text)} characters long; conditions are limited to "
            f"{MAX_CONDITION_CHARS}"
        )
    try:
        tree = ast.parse(text, mode="eval").body
    except SyntaxError as exc:
        raise ConditionError(f"condition {_shown(source)} is not a valid expression: {exc.msg}") from None
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
                f"condition {_shown(source)} uses {refused}, which conditions do not allow "
                "(only names, literals, comparisons, and/or/not, in)"
            )
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))
    return tree


def _too_deep(source: str) -> str:
    return f"condition {_shown(source)} is nested more than {MAX_CONDITION_DEPTH} levels deep"


def _reference(node: ast.expr) -> str | None:
    names = []
    while isinstance(node, ast.Attribute):
        names.append(node.attr)
        node = node.value
    if isinstance(node, ast.Name):
        names.append(node.id)
        return ".".join(reversed(names))
    return None


def _value(node: ast.expr, scope: Scope) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.List | ast.Tuple):
        return [_value(element, scope) for element in node.elts]
    if isinstance(node, ast.UnaryOp):
        return not _value(node.operand, scope)
    if isinstance(node, ast.BoolOp):
        values = (_value(v, scope) for v in node.values)
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.Compare):
        left = _value(node.left, scope)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _value(right_node, scope)
            if not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    ref = _reference(node)
    if ref in ("true", "True"):
        return True
    if ref in ("false", "False"):
        return False
    try:
        return scope.resolve(ref or "")
    except PromptError:
        return None  # a missing value is falsy: `steps.x.data.flag` on a skipped step is false


def evaluate_condition(source: str, scope: Scope) -> bool:
    tree = parse_condition(source)
    try:
        return bool(_value(tree, scope))
    except TypeError as exc:  # e.g. `steps.a.text > 3`, or `in` a missing (None) value
        raise ConditionError(f"condition {_shown(source)} cannot be evaluated: {exc}") from None
