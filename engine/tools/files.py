"""Read, Write and Edit: text files inside the workspace, written atomically."""

from __future__ import annotations

import io
import os
import secrets
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from engine.tools.base import BINARY_SNIFF_BYTES, Tool, ToolContext, in_thread, lines_with_note, looks_binary
from engine.tools.sandbox import ToolError, refuse_hard_links

DEFAULT_READ_LINES = 2000
MAX_LINE_CHARS = 2000
# Edit holds the whole file (twice) in memory; past this size a rewrite belongs to Write or Bash.
MAX_EDIT_BYTES = 10 * 1024 * 1024
# Room kept under the output cap for Read's closing note.
NOTE_ROOM = 200


def _read(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = ctx.sandbox.resolve(args["file_path"], field="file_path")
    shown = ctx.sandbox.shown(path)
    _require_file(path, shown)
    offset = int(args.get("offset", 1))
    limit = int(args.get("limit", DEFAULT_READ_LINES))
    budget = ctx.output_cap_bytes - NOTE_ROOM
    shown_lines: list[str] = []
    used = 0
    number = 0
    with path.open("rb") as raw:
        # Checked on what was opened, so a link made after the path checks is caught too.
        refuse_hard_links(os.fstat(raw.fileno()), shown)
        if looks_binary(raw.read(BINARY_SNIFF_BYTES)):
            raise ToolError(f"'{shown}' is a binary file; Read shows text files only")
        raw.seek(0)
        text = io.TextIOWrapper(raw, encoding="utf-8", errors="replace")
        for number, line in enumerate(_bounded_lines(text), start=1):
            if number < offset:
                continue
            if number >= offset + limit:
                return lines_with_note(shown_lines, f"[more lines follow; continue with offset={number}]")
            entry = f"{number:>6}\t{line}"
            used += len(entry.encode()) + 1
            if used > budget:
                return lines_with_note(shown_lines, f"[output cap reached; continue with offset={number}]")
            shown_lines.append(entry)
    if number == 0:
        return f"(the file '{shown}' is empty)"
    if number < offset:
        raise ToolError(f"offset {offset} is past the end of '{shown}', which has {number} lines")
    return lines_with_note(shown_lines, "")


def _bounded_lines(text: io.TextIOWrapper) -> Iterator[str]:
    """The file's lines without their endings, each cut at MAX_LINE_CHARS without ever holding a whole
    long line (a minified file can be one line of many megabytes)."""
    while line := text.readline(MAX_LINE_CHARS + 1):
        if line.endswith("\n"):
            yield line[:-1]
        elif len(line) <= MAX_LINE_CHARS:
            yield line
        else:
            rest = line
            while rest and not rest.endswith("\n"):
                rest = text.readline(io.DEFAULT_BUFFER_SIZE)
            yield line[:MAX_LINE_CHARS] + " [line truncated]"


def _write(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = ctx.sandbox.resolve(args["file_path"], field="file_path")
    shown = ctx.sandbox.shown(path)
    if path.is_dir():
        raise ToolError(f"'{shown}' is a directory; give a file path")
    existing = path.stat() if path.exists() else None
    if existing is not None:
        refuse_hard_links(existing, shown)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = args["content"].encode("utf-8", "replace")
    _atomic_write(path, data, stat.S_IMODE(existing.st_mode) if existing else None)
    what = "replaced its previous content" if existing else "new file"
    return f"wrote {len(data)} bytes to '{shown}' ({what})"


def _edit(ctx: ToolContext, args: dict[str, Any]) -> str:
    path = ctx.sandbox.resolve(args["file_path"], field="file_path")
    shown = ctx.sandbox.shown(path)
    old, new, replace_all = args["old_string"], args["new_string"], args.get("replace_all", False)
    if not old:
        raise ToolError("old_string is empty; to create a file use Write")
    if old == new:
        raise ToolError("new_string is the same as old_string; nothing would change")
    if not path.exists():
        raise ToolError(f"file not found: '{shown}' (to create a file use Write)")
    _require_file(path, shown)
    with path.open("rb") as handle:
        info = os.fstat(handle.fileno())
        refuse_hard_links(info, shown)
        if info.st_size > MAX_EDIT_BYTES:
            raise ToolError(f"'{shown}' is {info.st_size} bytes, over Edit's {MAX_EDIT_BYTES}-byte limit")
        data = handle.read()
    if looks_binary(data):
        raise ToolError(f"'{shown}' is a binary file; Edit changes text files only")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ToolError(f"'{shown}' is not UTF-8 text; Edit cannot change it safely") from None
    count = text.count(old)
    if count == 0 and "\r\n" in text and "\r" not in old:
        # Read shows CRLF files with plain newlines, so the model's strings lack the '\r'.
        old, new = old.replace("\n", "\r\n"), new.replace("\n", "\r\n")
        count = text.count(old)
    if count == 0:
        raise ToolError(
            f"old_string was not found in '{shown}'; it must match the file exactly, whitespace and "
            "indentation included, without Read's line-number prefix"
        )
    if count > 1 and not replace_all:
        raise ToolError(
            f"old_string occurs {count} times in '{shown}'; include more surrounding lines to make it "
            "unique, or set replace_all to true to change every occurrence"
        )
    updated = text.replace(old, new) if replace_all else text.replace(old, new, 1)
    _atomic_write(path, updated.encode("utf-8", "replace"), stat.S_IMODE(info.st_mode))
    return f"edited '{shown}': replaced {count} occurrence{'s' if count > 1 else ''}"


def _require_file(path: Path, shown: str) -> None:
    if path.is_dir():
        raise ToolError(f"'{shown}' is a directory; use LS to list it")
    if not path.exists():
        raise ToolError(f"file not found: '{shown}'")
    if not path.is_file():
        raise ToolError(f"'{shown}' is not a regular file")


def _atomic_write(path: Path, data: bytes, mode: int | None) -> None:
    """Write `data` to a temporary sibling, then rename it over `path`: readers never see half a file."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # 0o666 lets the umask decide a new file's mode, as for any file a program creates.
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o666)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        if mode is not None:
            os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


PATH_NOTE = "relative to the workspace root (an absolute path must be inside the workspace)"

READ = Tool(
    name="Read",
    description=(
        "Read a text file in the workspace. Returns its lines numbered like `cat -n`: the line number, a "
        f"tab, then the line. By default up to {DEFAULT_READ_LINES} lines from the start; for a long file "
        "pass offset (the 1-based line to start at) and limit (how many lines), as the closing note "
        f"suggests. Lines longer than {MAX_LINE_CHARS} characters are cut. Binary files and directories "
        "are refused (use LS for a directory). The number prefix is not part of the file: leave it out "
        "of Edit's old_string."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": f"The file to read, {PATH_NOTE}."},
            "offset": {"type": "integer", "minimum": 1, "description": "The 1-based line to start at."},
            "limit": {"type": "integer", "minimum": 1, "description": "How many lines to read at most."},
        },
        "required": ["file_path"],
        "additionalProperties": False,
    },
    handler=in_thread(_read),
)

WRITE = Tool(
    name="Write",
    description=(
        "Write a file in the workspace, replacing its whole content if it exists. Missing parent "
        "directories are created. The write is atomic: the file holds either its old or its new content, "
        "never a mix. To change part of an existing file prefer Edit."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": f"The file to write, {PATH_NOTE}."},
            "content": {"type": "string", "description": "The complete new content of the file."},
        },
        "required": ["file_path", "content"],
        "additionalProperties": False,
    },
    handler=in_thread(_write),
)

EDIT = Tool(
    name="Edit",
    description=(
        "Replace text in an existing file in the workspace. old_string must match the file exactly "
        "(whitespace and indentation included, without Read's line-number prefix) and occur exactly once, "
        "so include enough surrounding lines to make it unique; or set replace_all to change every "
        "occurrence. new_string must differ from old_string. Read the file first. To create a file use Write."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "file_path": {"type": "string", "description": f"The file to change, {PATH_NOTE}."},
            "old_string": {"type": "string", "description": "The exact text to replace."},
            "new_string": {"type": "string", "description": "The text to put in its place."},
            "replace_all": {
                "type": "boolean",
                "description": "Replace every occurrence instead of exactly one (default false).",
            },
        },
        "required": ["file_path", "old_string", "new_string"],
        "additionalProperties": False,
    },
    handler=in_thread(_edit),
)
