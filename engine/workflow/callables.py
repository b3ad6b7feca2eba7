"""Checks a `"package.module:function"` reference without importing anything: `pipeline validate` never
runs the user's code (a callback module's top level could do anything).

The module is found the way `import` would find it (the interpreter's finders, then the extra folders),
without executing a package's `__init__`; its source is parsed with `ast` and searched for a top-level
binding of the name (def, async def, class, assignment or import).
"""

from __future__ import annotations

import ast
import importlib.machinery
import importlib.util
import sys
from collections.abc import Iterator, Sequence
from importlib.machinery import ModuleSpec
from pathlib import Path

MAX_SOURCE_BYTES = 10 * 1024 * 1024


def callable_problem(reference: str, extra_paths: Sequence[Path]) -> str | None:
    """Why `reference` names no function (None when it does, or when only importing could tell: a
    built-in or compiled module not loaded yet). `extra_paths` are searched after `sys.path`."""
    module, _, name = reference.partition(":")
    spec = _find_spec(module, [str(path) for path in extra_paths])
    if spec is None:
        return (
            f"'{reference}' cannot be imported: ModuleNotFoundError: no module named '{module}' "
            "(looked in the Python path, the current folder and the workflow's folder)"
        )
    if isinstance(spec.loader, importlib.machinery.SourceFileLoader) and spec.origin:
        path = Path(spec.origin)
        try:
            tree = ast.parse(_read_source(path), filename=spec.origin)
        except Unreadable as error:
            return f"'{reference}': {error}"
        except (SyntaxError, ValueError) as error:
            where = f" (line {error.lineno})" if isinstance(error, SyntaxError) and error.lineno else ""
            return f"'{reference}': {path.name} does not parse: {error.args[0]}{where}"
        found = name in set(_top_level_names(tree.body))
    elif spec.origin is None:
        found = False  # a namespace package (a folder without __init__.py): it defines nothing
    elif module in sys.modules:  # built-in or compiled, already loaded: looking costs nothing
        found = hasattr(sys.modules[module], name)
    else:
        return None
    if not found:
        return f"'{reference}': module '{module}' has no function '{name}'"
    return None


def _find_spec(module: str, extra_paths: list[str]) -> ModuleSpec | None:
    """The module's spec, found package by package through their search locations, so no package's
    `__init__` runs (`importlib.util.find_spec` would import the parents)."""
    head, *rest = module.split(".")
    spec = _find_top_level(head, extra_paths)
    name = head
    for part in rest:
        if spec is None or spec.submodule_search_locations is None:
            return None
        name = f"{name}.{part}"
        spec = importlib.machinery.PathFinder.find_spec(name, list(spec.submodule_search_locations))
    return spec


def _find_top_level(name: str, extra_paths: list[str]) -> ModuleSpec | None:
    if name in sys.modules and getattr(sys.modules[name], "__spec__", None) is not None:
        return sys.modules[name].__spec__
    for finder in sys.meta_path:  # built-ins, frozen modules, editable installs, then sys.path
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec(name, None)
        except (ImportError, ValueError):
            continue
        if spec is not None:
            return spec
    return importlib.machinery.PathFinder.find_spec(name, extra_paths)


class Unreadable(Exception):
    """The module's file cannot be read safely (too large, unreadable)."""


def _read_source(path: Path) -> str:
    # The finders only return regular files (a FIFO named like a module is no module), so this cannot block.
    try:
        info = path.stat()
        if info.st_size > MAX_SOURCE_BYTES:
            raise Unreadable(f"{path.name} is larger than {MAX_SOURCE_BYTES // 2**20} MB")
        return importlib.util.decode_source(path.read_bytes())
    except OSError as error:
        raise Unreadable(f"cannot read {path.name}: {error.strerror or error}") from None
    except (SyntaxError, UnicodeDecodeError) as error:  # a bad coding cookie, bytes that are not text
        raise Unreadable(f"cannot read {path.name}: {error}") from None


def _top_level_names(body: list[ast.stmt]) -> Iterator[str]:
    """Names bound at module level, also inside top-level if/try/with blocks (not inside functions)."""
    for node in body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            yield node.name
        elif isinstance(node, ast.Assign):
            for target in node.targets:
                yield from _target_names(target)
        elif isinstance(node, ast.AnnAssign | ast.AugAssign):
            yield from _target_names(node.target)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            for alias in node.names:
                yield alias.asname or alias.name.split(".")[0]
        elif isinstance(node, ast.If | ast.While | ast.For | ast.AsyncFor | ast.With | ast.AsyncWith):
            yield from _top_level_names(node.body)
            yield from _top_level_names(getattr(node, "orelse", []))
        elif isinstance(node, ast.Try | ast.TryStar):
            yield from _top_level_names(node.body)
            yield from _top_level_names(node.orelse)
            yield from _top_level_names(node.finalbody)
            for handler in node.handlers:
                yield from _top_level_names(handler.body)


def _target_names(target: ast.expr) -> Iterator[str]:
    if isinstance(target, ast.Name):
        yield target.id
    elif isinstance(target, ast.Tuple | ast.List):
        for element in target.elts:
            yield from _target_names(element)
