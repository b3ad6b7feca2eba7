"""Where the product writes: names made safe as file names, and paths confined to their root.

Every file the engine writes (stream files, `output_to_file`, session files) goes through these, so
anything validation accepts can be written, and nothing lands outside its folder or over the run
record.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

MAX_NAME_CHARS = 120  # well under every file system's 255-byte limit, suffixes included
RUN_RECORD_FILES = frozenset({"run.json", "events.jsonl"})
RUN_RESULTS_DIR = "results"
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


class PathRefused(ValueError):
    """A path the product must not write to; the message says why, in one line."""


def safe_name(name: str, max_chars: int = MAX_NAME_CHARS) -> str:
    """`name` as one file name: no separators or odd characters, never `.`/`..`, at most `max_chars`.

    A name that had to change gets a short hash of the original, so two different names never meet.
    """
    cleaned = _UNSAFE.sub("_", name).strip("._") or "_"
    if cleaned == name and len(name) <= max_chars:
        return name
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:10]
    return f"{cleaned[: max_chars - len(digest) - 1]}-{digest}"


def confined(root: Path, relative: str | Path, what: str) -> Path:
    """`relative` resolved under `root` (symlinks too); refused when it leaves `root`, names `root`
    itself or one of the run record's own files, or is an existing folder."""
    given = Path(relative)
    if given.is_absolute():
        raise PathRefused(f"{what} {str(relative)!r} must be relative to {root}")
    base = root.resolve()
    target = (base / given).resolve()
    if target == base or base not in target.parents:
        raise PathRefused(f"{what} {str(relative)!r} leaves {root}")
    if target.parent == base and target.name in RUN_RECORD_FILES:
        raise PathRefused(f"{what} {str(relative)!r} would overwrite the run record")
    if target == base / RUN_RESULTS_DIR or base / RUN_RESULTS_DIR in target.parents:
        # The record's own results/<step>.txt and items files.
        raise PathRefused(f"{what} {str(relative)!r} is inside the run record's {RUN_RESULTS_DIR}/ folder")
    if target.is_dir():
        raise PathRefused(f"{what} {str(relative)!r} is a folder")
    return target
