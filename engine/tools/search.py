"""Glob, Grep and LS: finding files and text in the workspace without ever following a link out of it."""

from __future__ import annotations

import fnmatch
import io
import os
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from engine.tools.base import BINARY_SNIFF_BYTES, Tool, ToolContext, in_thread, lines_with_note, looks_binary
from engine.tools.sandbox import Refused, Sandbox, ToolError, refuse_hard_links

MAX_LISTED = 1000
# Glob stops walking after this many matches, so a '**' over a huge tree stays bounded in memory.
MAX_GLOB_MATCHES = 10_000
MAX_GREP_FILE_BYTES = 5 * 1024 * 1024
MAX_MATCH_LINE_CHARS = 500
# A pattern like '{a,b}{c,d}{e,f}...' multiplies; past this many alternatives it is refused.
MAX_BRACE_EXPANSIONS = 256
NOTE_ROOM = 300
MAGIC = re.compile(r"[*?\[]")


def _glob(ctx: ToolContext, args: dict[str, Any]) -> str:
    sandbox = ctx.sandbox
    pattern = args["pattern"]
    if not pattern.strip():
        raise ToolError("pattern is empty")
    root = _directory(sandbox, args.get("path") or ".")
    found: set[str] = set()
    for alternative in expand_braces(pattern):
        absolute = alternative.startswith("/")
        segments = [s for s in alternative.split("/") if s not in ("", ".")]
        if not segments:
            continue
        # Literal leading segments are a directory to start from; they go through the sandbox, so a
        # pattern like '../*' or '/etc/*' is refused like any other path.
        fixed = next((i for i, s in enumerate(segments) if MAGIC.search(s)), len(segments) - 1)
        start = root
        if fixed or absolute:
            prefix = ("/" if absolute else "") + "/".join(segments[:fixed])
            try:
                start = sandbox.resolve(prefix, field="pattern", base=root)
            except Refused:
                raise Refused(f"refused: pattern '{pattern}' reaches outside the workspace") from None
        if start.is_dir():
            _collect_matches(sandbox, start, segments[fixed:], found)
        if len(found) >= MAX_GLOB_MATCHES:
            break
    if not found:
        return f"no files match '{pattern}' in '{sandbox.shown(root)}'"
    listed = sorted(found)
    note = ""
    if len(found) >= MAX_GLOB_MATCHES:
        note = f"[stopped after {MAX_GLOB_MATCHES} matches; narrow the pattern or path]"
    elif len(listed) > MAX_LISTED:
        note = f"[{len(listed)} matches; showing the first {MAX_LISTED}; narrow the pattern or path]"
    return _capped_lines(listed[:MAX_LISTED], note, ctx.output_cap_bytes)


def _collect_matches(sandbox: Sandbox, start: Path, segments: list[str], found: set[str]) -> None:
    """Walk `start` for paths matching `segments`, pruning directories no match can lie under.

    Matching runs as a small automaton over the pattern's segments, so '**' costs one walk, not one
    per way it could split. Symlinks are matched by name but never descended into.
    """
    stack = [(start, _closure({0}, segments))]
    while stack and len(found) < MAX_GLOB_MATCHES:
        directory, states = stack.pop()
        for entry in _entries(directory):
            reached = _step(states, segments, entry.name)
            if not reached:
                continue
            if entry.is_symlink():
                target = Path(os.path.realpath(entry.path))
                if not sandbox.contains(target):
                    continue
                is_dir, descend = target.is_dir(), False
            else:
                is_dir = descend = entry.is_dir(follow_symlinks=False)
            if len(segments) in reached:
                found.add(sandbox.shown(Path(entry.path)) + ("/" if is_dir else ""))
            if descend and any(state < len(segments) for state in reached):
                stack.append((Path(entry.path), reached))


def _closure(states: set[int], segments: list[str]) -> set[int]:
    """`states` plus every state reachable by letting a '**' match no segment at all."""
    closed = set(states)
    for index in sorted(closed):
        while index < len(segments) and segments[index] == "**":
            index += 1
            closed.add(index)
    return closed


def _step(states: set[int], segments: list[str], name: str) -> set[int]:
    reached = set()
    for index in states:
        if index >= len(segments):
            continue
        if segments[index] == "**":
            reached.add(index)
        elif fnmatch.fnmatchcase(name, segments[index]):
            reached.add(index + 1)
    return _closure(reached, segments) if reached else reached


def path_matches(parts: list[str], pattern: str) -> bool:
    """Whether a relative path (as its segments) matches a glob pattern with '**'."""
    segments = [s for s in pattern.split("/") if s not in ("", ".")]
    states = _closure({0}, segments)
    for part in parts:
        states = _step(states, segments, part)
        if not states:
            return False
    return len(segments) in states


def expand_braces(pattern: str) -> list[str]:
    """'src/*.{js,ts}' -> ['src/*.js', 'src/*.ts']; nested braces expand too, unmatched ones stay literal."""
    results: list[str] = []
    pending = [pattern]
    while pending:
        current = pending.pop()
        group = _first_brace_group(current)
        if group is None:
            results.append(current)
        else:
            start, end, options = group
            pending.extend(current[:start] + option + current[end + 1 :] for option in reversed(options))
        if len(results) + len(pending) > MAX_BRACE_EXPANSIONS:
            raise ToolError(f"pattern '{pattern}' expands to more than {MAX_BRACE_EXPANSIONS} alternatives")
    return results


def _first_brace_group(text: str) -> tuple[int, int, list[str]] | None:
    """The first '{...}' holding a top-level comma: its start, end and comma-separated options."""
    for start, char in enumerate(text):
        if char != "{":
            continue
        depth, options, begin = 0, [], start + 1
        for index in range(start, len(text)):
            if text[index] == "{":
                depth += 1
            elif text[index] == "}":
                depth -= 1
                if depth == 0:
                    options.append(text[begin:index])
                    if len(options) > 1:
                        return start, index, options
                    break
            elif text[index] == "," and depth == 1:
                options.append(text[begin:index])
                begin = index + 1
    return None


def _grep(ctx: ToolContext, args: dict[str, Any]) -> str:
    sandbox = ctx.sandbox
    try:
        regex = re.compile(args["pattern"], re.IGNORECASE if args.get("ignore_case") else 0)
    except re.error as exc:
        raise ToolError(f"pattern is not a valid Python regular expression: {exc}") from None
    target = sandbox.resolve(args.get("path") or ".", field="path")
    shown_target = sandbox.shown(target)
    if not target.exists():
        raise ToolError(f"path not found: '{shown_target}'")
    wanted = _file_filter(args.get("glob"))
    if target.is_file():
        refuse_hard_links(target.stat(), shown_target)
    files = (
        [target]
        if target.is_file()
        else (path for path in _files_under(target) if wanted(path.relative_to(target).parts))
    )
    budget = ctx.output_cap_bytes - NOTE_ROOM
    lines: list[str] = []
    used = 0
    too_big: list[str] = []
    hard_linked: list[str] = []
    for path in files:
        try:
            info = path.stat()
        except OSError:
            continue  # vanished since the walk listed it
        if info.st_nlink > 1:
            hard_linked.append(sandbox.shown(path))  # another link to it may be outside the workspace
            continue
        if info.st_size > MAX_GREP_FILE_BYTES:
            too_big.append(sandbox.shown(path))
            continue
        for number, text in _matching_lines(path, regex):
            entry = f"{sandbox.shown(path)}:{number}: {text}"
            used += len(entry.encode()) + 1
            if used > budget:
                return lines_with_note(
                    lines,
                    f"[stopped after {len(lines)} matching lines: output cap reached; "
                    "narrow the pattern, path or glob]",
                )
            lines.append(entry)
    notes = []
    if too_big:
        notes.append(_skipped(too_big, f"files over {MAX_GREP_FILE_BYTES // (1024 * 1024)} MB"))
    if hard_linked:
        notes.append(_skipped(hard_linked, "hard-linked files (a hard link can point outside the workspace)"))
    if not lines:
        notes.insert(0, f"no matches for /{args['pattern']}/ in '{shown_target}'")
    return lines_with_note(lines, "\n".join(notes))


def _skipped(shown: list[str], what: str) -> str:
    listed = ", ".join(shown[:10]) + (", ..." if len(shown) > 10 else "")
    return f"[skipped {len(shown)} {what}: {listed}]"


def _file_filter(pattern: str | None) -> Callable[[tuple[str, ...]], bool]:
    """A test on a file's path (relative to the search root): a pattern with '/' matches the whole
    path, one without matches the file name, as ripgrep's --glob does."""
    if not pattern:
        return lambda parts: True
    alternatives = expand_braces(pattern)

    def wanted(parts: tuple[str, ...]) -> bool:
        for alternative in alternatives:
            if "/" in alternative:
                if path_matches(list(parts), alternative):
                    return True
            elif fnmatch.fnmatchcase(parts[-1], alternative):
                return True
        return False

    return wanted


def _files_under(directory: Path) -> Iterator[Path]:
    """Regular files under `directory`, depth first in name order, symlinks skipped (never followed)."""
    stack = [iter(_entries(directory))]
    while stack:
        entry = next(stack[-1], None)
        if entry is None:
            stack.pop()
        elif entry.is_symlink():
            continue
        elif entry.is_dir(follow_symlinks=False):
            stack.append(iter(_entries(Path(entry.path))))
        elif entry.is_file(follow_symlinks=False):
            yield Path(entry.path)


def _matching_lines(path: Path, regex: re.Pattern[str]) -> Iterator[tuple[int, str]]:
    try:
        with path.open("rb") as raw:
            if looks_binary(raw.read(BINARY_SNIFF_BYTES)):
                return
            raw.seek(0)
            for number, line in enumerate(io.TextIOWrapper(raw, encoding="utf-8", errors="replace"), 1):
                if regex.search(line):
                    text = line.rstrip("\r\n")
                    if len(text) > MAX_MATCH_LINE_CHARS:
                        text = text[:MAX_MATCH_LINE_CHARS] + " [line truncated]"
                    yield number, text
    except OSError:
        # An unreadable file (permissions, vanished meanwhile) is skipped like a binary one.
        return


def _ls(ctx: ToolContext, args: dict[str, Any]) -> str:
    sandbox = ctx.sandbox
    directory = _directory(sandbox, args.get("path") or ".")
    listed = []
    for entry in _entries(directory):
        if entry.is_symlink():
            target = Path(os.path.realpath(entry.path))
            if not sandbox.contains(target):
                listed.append(f"{entry.name}@ (a link to outside the workspace)")
                continue
            is_dir = target.is_dir()
        else:
            is_dir = entry.is_dir(follow_symlinks=False)
        listed.append(entry.name + ("/" if is_dir else ""))
    if not listed:
        return f"(the directory '{sandbox.shown(directory)}' is empty)"
    note = f"[{len(listed)} entries; showing the first {MAX_LISTED}]" if len(listed) > MAX_LISTED else ""
    return _capped_lines(listed[:MAX_LISTED], note, ctx.output_cap_bytes)


def _directory(sandbox: Sandbox, raw: str) -> Path:
    directory = sandbox.resolve(raw, field="path")
    shown = sandbox.shown(directory)
    if not directory.exists():
        raise ToolError(f"directory not found: '{shown}'")
    if not directory.is_dir():
        raise ToolError(f"'{shown}' is not a directory")
    return directory


def _entries(directory: Path) -> list[os.DirEntry[str]]:
    try:
        with os.scandir(directory) as scan:
            return sorted(scan, key=lambda entry: entry.name)
    except OSError:
        # A directory we may not list is left out of a walk rather than failing the whole search.
        return []


def _capped_lines(lines: list[str], note: str, cap_bytes: int) -> str:
    """Whole lines up to the cap (never half a path), then the note."""
    kept, used = [], 0
    for line in lines:
        used += len(line.encode()) + 1
        if used > cap_bytes - NOTE_ROOM:
            note = f"[output cap reached after {len(kept)} of {len(lines)} entries; narrow the request]"
            break
        kept.append(line)
    return lines_with_note(kept, note)


PATH_NOTE = "relative to the workspace root; default: the workspace root"

GLOB = Tool(
    name="Glob",
    description=(
        "Find files and directories in the workspace by path pattern, e.g. `**/*.py`, `src/*.{js,ts}`, "
        "`tests/test_?.py`. `*` and `?` match within one path segment, `**` matches any number of "
        "directories, `[abc]` matches one of the characters, `{a,b}` either alternative. The pattern is "
        "relative to path. Returns workspace-relative paths, sorted, one per line; directories end with "
        "`/`. Symbolic links are listed but never followed."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The glob pattern, e.g. `**/*.py`."},
            "path": {"type": "string", "description": f"The directory to search in, {PATH_NOTE}."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    handler=in_thread(_glob),
)

GREP = Tool(
    name="Grep",
    description=(
        "Search the contents of text files in the workspace with a Python regular expression (`re` "
        "syntax). Returns matching lines as `path:line: text`, paths relative to the workspace. Binary "
        f"files, files over {MAX_GREP_FILE_BYTES // (1024 * 1024)} MB and symbolic links are skipped. "
        "Narrow a large search with path and glob."
    ),
    input_schema={
        "type": "object",
        "properties": {
            "pattern": {"type": "string", "description": "The regular expression to search for."},
            "path": {"type": "string", "description": f"A file or directory to search, {PATH_NOTE}."},
            "glob": {
                "type": "string",
                "description": (
                    "Only search files matching this pattern: a file-name pattern like `*.py` or "
                    "`*.{ts,tsx}`, or a path pattern like `src/**/*.py` (relative to path)."
                ),
            },
            "ignore_case": {"type": "boolean", "description": "Match case-insensitively (default false)."},
        },
        "required": ["pattern"],
        "additionalProperties": False,
    },
    handler=in_thread(_grep),
)

LS = Tool(
    name="LS",
    description=(
        "List a directory in the workspace: one entry per line, sorted by name, directories ending with "
        "`/`. Use Glob to find files deeper down."
    ),
    input_schema={
        "type": "object",
        "properties": {"path": {"type": "string", "description": f"The directory to list, {PATH_NOTE}."}},
        "additionalProperties": False,
    },
    handler=in_thread(_ls),
)
