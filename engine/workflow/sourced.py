"""Model input that remembers where in the file each value was written, through renames and merges."""

from __future__ import annotations

from typing import Any

from engine.workflow.yaml_source import RawPath


class Src(dict):  # type: ignore[type-arg]
    """A mapping for model input; `origins[key]` is the path in the file its value came from."""

    __slots__ = ("origins", "path")

    def __init__(self, path: RawPath) -> None:
        super().__init__()
        self.path = path
        self.origins: dict[str, RawPath] = {}

    def put(self, key: str, value: Any, origin: RawPath) -> None:
        self[key] = value
        self.origins[key] = origin

    def origin(self, key: str) -> RawPath:
        return self.origins.get(key, (*self.path, key))


class SrcList(list):  # type: ignore[type-arg]
    """A list for model input; `origins[i]` is the path in the file item i came from."""

    __slots__ = ("origins", "path")

    def __init__(self, path: RawPath) -> None:
        super().__init__()
        self.path = path
        self.origins: list[RawPath] = []

    def add(self, value: Any, origin: RawPath) -> None:
        self.append(value)
        self.origins.append(origin)


def from_plain(value: Any, origin: RawPath) -> Any:
    """Built-in data (a preset) as model input, every part attributed to `origin`."""
    if isinstance(value, dict):
        result = Src(origin)
        for key, item in value.items():
            result.put(key, from_plain(item, origin), origin)
        return result
    if isinstance(value, list):
        items = SrcList(origin)
        for item in value:
            items.add(from_plain(item, origin), origin)
        return items
    return value


def merge(under: Src, over: Src) -> Src:
    """`over` wins key by key; mappings merge recursively; lists and scalars are replaced whole."""
    result = Src(over.path)
    for key, value in under.items():
        result.put(key, value, under.origin(key))
    for key, value in over.items():
        below = result.get(key)
        if isinstance(below, Src) and isinstance(value, Src):
            result.put(key, merge(below, value), over.origin(key))
        else:
            result.put(key, value, over.origin(key))
    return result


def locate(root: Any, loc: tuple[str | int, ...]) -> tuple[RawPath, Any, tuple[str | int, ...]]:
    """Follow a pydantic error location through model input back to a path in the file.

    Returns that path, the value found there, and the trailing location parts that are not in the
    data (a missing or unknown key). Parts naming a union member (`'claude'`, `'static'`) are skipped.
    """
    node = root
    path: RawPath = getattr(root, "path", ())
    for position, part in enumerate(loc):
        if isinstance(node, dict) and part in node:
            path = node.origin(part) if isinstance(node, Src) else (*path, part)
            node = node[part]
        elif isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
            path = node.origins[part] if isinstance(node, SrcList) else (*path, part)
            node = node[part]
        elif position == len(loc) - 1 and isinstance(node, dict):
            return path, node, (part,)
    return path, node, ()
