"""Step conditions: a small, safe expression language over earlier results.

Examples: `steps.review.status == 'succeeded'`, `steps.check.data.ok`, `not steps.lint.data.errors`,
`vars.mode == 'full' and steps.plan.text`. Only names, dots, literals, comparisons, `and`/`or`/`not`
and `in` are allowed: nothing is executed.
"""

from __future__ import annotations

import ast
from typing import Any

from engine.templating import PromptError, Scope
from engine.workflow.expressions import COMPARE, ConditionError, parse_condition, shown

__all__ = ["ConditionError", "evaluate_condition", "parse_condition"]

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
            if not COMPARE[type(op)](left, right):
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
        raise ConditionError(f"condition {shown(source)} cannot be evaluated: {exc}") from None
