"""Reads a workflow file into plain data plus the line and column of every key and value.

Defensive by design: size cap, encoding checks, duplicate keys, alias bombs and deep nesting all
become one located `SourceError` instead of a hang, a traceback or a silently dropped key.
"""

from __future__ import annotations

import codecs
import os
import stat
from pathlib import Path
from typing import Any, NamedTuple

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

RawPath = tuple[str | int, ...]

MAX_FILE_BYTES = 10 * 1024 * 1024
MAX_DEPTH = 100
# Expanded alias nodes beyond the first use of each anchor; a "billion laughs" file reaches this fast.
MAX_ALIAS_EXPANSION = 100_000
# Text of all scalars and keys once aliases are expanded: a long string under a few nested aliases
# stays under the node count above yet expands to gigabytes.
MAX_EXPANDED_BYTES = 16 * 1024 * 1024

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
_CONSTRUCTOR = yaml.constructor.SafeConstructor()
_TAG = "tag:yaml.org,2002:"
_CONSTRUCTED_TAGS = {_TAG + name for name in ("null", "bool", "int", "float")}
# Dates and a stray `<<` as a value are kept as the text the user wrote.
_TEXT_TAGS = {_TAG + "str", _TAG + "timestamp", _TAG + "merge"}
_COLLECTION_TAGS = {_TAG + "map", _TAG + "seq"}


class Mark(NamedTuple):  # not a dataclass: see Diagnostic
    """A 1-based position, plus the character span of the node in the decoded text."""

    line: int
    col: int
    start: int = 0
    end: int = 0


class SourceError(Exception):
    """A problem that stops reading the file at all (one line, with its position when known)."""

    def __init__(self, message: str, line: int = 0, col: int = 0) -> None:
        super().__init__(message)
        self.message = message
        self.line = line
        self.col = col


class YamlDocument:
    """The file's data as plain dicts, lists and scalars, and where each part was written."""

    def __init__(self, text: str, data: Any = None) -> None:
        self.text = text
        self.data = data
        self.values: dict[RawPath, Mark] = {}
        self.keys: dict[RawPath, Mark] = {}
        # Problems that do not stop reading (duplicate keys), as (mark, path, message).
        self.problems: list[tuple[Mark, RawPath, str]] = []


def read_yaml(path: Path) -> YamlDocument:
    """Read and parse `path`; raise `SourceError` with a one-line reason when that is impossible."""
    try:
        info = path.stat()
    except FileNotFoundError:
        raise SourceError("no such file") from None
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    if stat.S_ISDIR(info.st_mode):
        raise SourceError("is a directory, not a workflow file")
    if not stat.S_ISREG(info.st_mode):
        # Reading a FIFO or a device could block forever or never end.
        raise SourceError("not a regular file")
    if info.st_size > MAX_FILE_BYTES:
        raise SourceError(
            f"file is {info.st_size / 1024 / 1024:.1f} MB; workflow files are limited to "
            f"{MAX_FILE_BYTES // 1024 // 1024} MB"
        )
    try:
        if not os.access(path, os.R_OK):
            raise PermissionError
        raw = path.read_bytes()
    except PermissionError:
        raise SourceError("cannot read: permission denied") from None
    except OSError as error:
        raise SourceError(f"cannot read: {error.strerror or error}") from None
    return parse_yaml(decode(raw))


def decode(raw: bytes) -> str:
    """UTF-8 text of the file, or a `SourceError` naming the first byte that is not."""
    if raw.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        raise SourceError("file is UTF-32 text; save it as UTF-8")
    if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise SourceError("file is UTF-16 text; save it as UTF-8")
    nul = raw.find(b"\0")
    if nul >= 0:
        line, col = _byte_position(raw, nul)
        raise SourceError("binary data, not YAML text (a NUL byte)", line, col)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        line, col = _byte_position(raw, error.start)
        raise SourceError(
            f"not UTF-8 text: byte 0x{raw[error.start]:02x} cannot be decoded "
            "(latin-1 or another encoding?); save the file as UTF-8",
            line,
            col,
        ) from None


def parse_yaml(text: str) -> YamlDocument:
    """Parse one YAML document, keeping positions; `SourceError` for anything that is not one."""
    if not text.strip():
        raise SourceError("file is empty: expected a mapping with a 'workflow' key")
    try:
        root = yaml.compose(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        raise _syntax_error(error, text) from None
    except yaml.reader.ReaderError as error:
        line, col = _char_position(text, error.position)
        message = f"character {error.character!r} is not allowed in YAML: {error.reason}"
        raise SourceError(message, line, col) from None
    except yaml.YAMLError as error:
        raise SourceError(f"not valid YAML: {_one_line(str(error))}") from None
    if root is None:
        raise SourceError("file is empty: expected a mapping with a 'workflow' key")
    document = YamlDocument(text=text, data=None)
    document.data = _Builder(document).build(root, (), 0)
    return document


def _syntax_error(error: yaml.MarkedYAMLError, text: str) -> SourceError:
    mark = error.problem_mark or error.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (0, 0)
    problem = error.problem or ""
    if mark is not None and 0 <= mark.index < len(text) and text[mark.index] == "\t":
        return SourceError("tab character: YAML indentation must use spaces", line, col)
    if "expected a single document" in (error.context or ""):
        return SourceError("several YAML documents (separated by ---); a workflow file holds one", line, col)
    if "maximum nesting depth" in problem:
        return SourceError("nested too deeply", line, col)
    context = f" ({_one_line(error.context)})" if error.context else ""
    return SourceError(f"YAML syntax error: {_one_line(problem)}{context}", line, col)


class _Builder:
    """Turns composed nodes into data, recording positions and refusing bombs and duplicates."""

    def __init__(self, document: YamlDocument) -> None:
        self.document = document
        self.seen: set[int] = set()
        self.active: set[int] = set()
        self.expanded = 0
        self.text_bytes = 0

    def count(self, text: str, mark: Mark) -> None:
        """Add a scalar's or key's text (each use of an alias counts again) to the document's size."""
        self.text_bytes += len(text) if text.isascii() else len(text.encode("utf-8", "surrogatepass"))
        if self.text_bytes > MAX_EXPANDED_BYTES:
            raise SourceError(
                f"the document expands to more than {MAX_EXPANDED_BYTES // 1024 // 1024} MiB of text "
                "(aliases re-using long values?)",
                mark.line,
                mark.col,
            )

    def build(self, node: Node, path: RawPath, depth: int) -> Any:
        mark = _mark(node)
        if depth > MAX_DEPTH:
            raise SourceError(f"nested more than {MAX_DEPTH} levels deep", mark.line, mark.col)
        node_id = id(node)
        if node_id in self.active:
            raise SourceError(
                "an alias refers to the node that contains it (recursive alias)", mark.line, mark.col
            )
        if node_id in self.seen:
            self.expanded += 1
            if self.expanded > MAX_ALIAS_EXPANSION:
                raise SourceError(
                    f"aliases expand to more than {MAX_ALIAS_EXPANSION} nodes (an alias bomb?)",
                    mark.line,
                    mark.col,
                )
        else:
            self.seen.add(node_id)
        self.document.values[path] = mark
        if isinstance(node, ScalarNode):
            self.count(node.value, mark)
            return _scalar(node, mark)
        if node.tag not in _COLLECTION_TAGS:
            raise SourceError(f"unsupported YAML tag '{_short_tag(node.tag)}'", mark.line, mark.col)
        self.active.add(node_id)
        try:
            if isinstance(node, SequenceNode):
                return [self.build(item, (*path, index), depth + 1) for index, item in enumerate(node.value)]
            if isinstance(node, MappingNode):
                return self._mapping(node, path, depth)
        finally:
            self.active.discard(node_id)
        raise SourceError(f"unsupported YAML node {type(node).__name__}", mark.line, mark.col)

    def _mapping(self, node: MappingNode, path: RawPath, depth: int) -> dict[str, Any]:
        result: dict[str, Any] = {}
        merges: list[Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _TAG + "merge":
                merges.append(value_node)
                continue
            key = self._key(key_node)
            key_path = (*path, key)
            key_mark = _mark(key_node)
            if key in result:
                first = self.document.keys[key_path]
                self.document.problems.append(
                    (key_mark, key_path, f"duplicate key '{key}' (first at line {first.line}); remove one")
                )
                continue
            self.document.keys[key_path] = key_mark
            result[key] = self.build(value_node, key_path, depth + 1)
        for source in merges:
            self._merge(result, source, path, depth)
        return result

    def _merge(self, result: dict[str, Any], source: Node, path: RawPath, depth: int) -> None:
        """YAML `<<: *anchor` merge keys: keys written in the mapping itself win."""
        sources = source.value if isinstance(source, SequenceNode) else [source]
        for mapping in sources:
            if not isinstance(mapping, MappingNode):
                mark = _mark(mapping)
                raise SourceError("'<<' merges a mapping (or a list of mappings) only", mark.line, mark.col)
            merged = self.build(mapping, (*path, "<<"), depth)
            for key, value in merged.items():
                if key not in result:
                    result[key] = value
                    self.document.values[(*path, key)] = self.document.values[(*path, "<<", key)]
                    self.document.keys[(*path, key)] = self.document.keys[(*path, "<<", key)]

    def _key(self, node: Node) -> str:
        if not isinstance(node, ScalarNode):
            mark = _mark(node)
            raise SourceError("a key must be a plain name, not a list or mapping", mark.line, mark.col)
        self.count(node.value, _mark(node))
        return str(node.value)


def _scalar(node: ScalarNode, mark: Mark) -> Any:
    if node.tag in _TEXT_TAGS:
        return node.value
    if node.tag in _CONSTRUCTED_TAGS:
        return _CONSTRUCTOR.yaml_constructors[node.tag](_CONSTRUCTOR, node)
    raise SourceError(f"unsupported YAML tag '{_short_tag(node.tag)}'", mark.line, mark.col)


def _short_tag(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _mark(node: Node) -> Mark:
    start, end = node.start_mark, node.end_mark
    return Mark(start.line + 1, start.column + 1, start.index, end.index)


def _byte_position(raw: bytes, offset: int) -> tuple[int, int]:
    line_start = raw.rfind(b"\n", 0, offset) + 1
    column = len(raw[line_start:offset].decode("utf-8", "replace")) + 1
    return raw.count(b"\n", 0, offset) + 1, column


def _char_position(text: str, offset: int) -> tuple[int, int]:
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _one_line(text: str) -> str:
    return " ".join(text.split())
