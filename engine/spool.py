"""A step's text, kept in memory while small and spooled to a file past a threshold.

Appending is O(1); the whole text is only assembled when something asks for it, so a 100 MB answer
streamed to a file handler never sits whole in memory.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import IO

DEFAULT_THRESHOLD = 1 << 20  # 1 MiB


class TextSpool:
    # Slots: a batch step keeps one per item, 100,000 of them.
    __slots__ = ("_chunks", "_directory", "_file", "_mark", "_memory_chars", "_threshold", "chars")

    def __init__(self, directory: Path | None = None, threshold: int = DEFAULT_THRESHOLD) -> None:
        self._directory = directory
        self._threshold = threshold
        self._chunks: list[str] = []
        self._memory_chars = 0
        self._file: IO[str] | None = None
        self.chars = 0
        self._mark: tuple[int, int | None] = (0, None)

    def append(self, text: str) -> None:
        self.chars += len(text)
        if self._file is not None:
            self._file.write(text)
            return
        self._chunks.append(text)
        self._memory_chars += len(text)
        if self._memory_chars > self._threshold:
            self._spill()

    def _spill(self) -> None:
        if self._directory is not None:
            self._directory.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(prefix="spool-", suffix=".txt", dir=self._directory)
        # The file is unlinked at once: it lives as long as the handle, and nothing is left behind.
        os.unlink(name)
        self._file = os.fdopen(fd, "w+", encoding="utf-8", newline="")
        self._file.write("".join(self._chunks))
        self._chunks = []
        self._memory_chars = 0

    def text(self) -> str:
        if self._file is None:
            if len(self._chunks) > 1:
                self._chunks = ["".join(self._chunks)]
            return self._chunks[0] if self._chunks else ""
        self._file.flush()
        self._file.seek(0)
        data = self._file.read()
        self._file.seek(0, os.SEEK_END)
        return data

    def copy_to(self, path: Path) -> None:
        """Write the whole text to `path` without holding it in memory when spooled."""
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as out:
            if self._file is None:
                out.writelines(self._chunks)
                return
            self._file.flush()
            self._file.seek(0)
            while block := self._file.read(1 << 20):
                out.write(block)
            self._file.seek(0, os.SEEK_END)

    def mark(self) -> None:
        """Remember the current end, so a retried turn can `rewind` to it."""
        self._mark = (self.chars, self._file.tell() if self._file is not None else None)

    def rewind(self) -> None:
        """Drop everything appended since the last `mark`."""
        chars, offset = self._mark
        if self._file is not None and offset is not None:
            self._file.flush()
            self._file.seek(offset)
            self._file.truncate()
            self.chars = chars
            return
        kept = self.text()[:chars]  # rare: the mark was taken before the spill, or nothing was marked
        self.reset()
        if kept:
            self.append(kept)
        self.mark()

    def reset(self) -> None:
        self.close()
        self._chunks = []
        self._memory_chars = 0
        self.chars = 0

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


class HeldText(str):
    """A finished text held as one string, with what a result reads of a TextSpool (`text()`, `chars`,
    `copy_to`, `close`): a batch item's answer, or a reused one, without a spool file each."""

    __slots__ = ()

    def text(self) -> str:
        return str(self)

    @property
    def chars(self) -> int:
        return len(self)

    def copy_to(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(self, encoding="utf-8", newline="")

    def close(self) -> None:
        """Nothing to release."""
