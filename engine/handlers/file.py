"""The file handler: appends a step's stream to a file with aiofiles, flushed to the OS after each batch.

`format: text` writes the text as is (so `tail -f` shows it arrive); `jsonl` writes one event per
line with a timestamp. `max_bytes` rotates the file (`path.1`, `path.2`, ...) so that no file ever holds
more than `max_bytes` bytes: text is split between characters, jsonl between lines (a line longer
than the limit gets a file of its own). A retried attempt truncates the file back to where its turn
began, taking back rotations made since, so the files never hold text twice.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import aiofiles
import aiofiles.os

from engine.events import Event, Retrying, StepFinished, TextDelta, TurnStarted, event_to_dict
from engine.handlers.base import HandlerContext, HandlerEnvironment, StreamHandler
from engine.handlers.buffer import utf8_size
from engine.paths import confined, safe_name
from engine.workflow.model import FileHandlerOptions


def default_stream_path(run_dir: Path, step_id: str, fmt: str) -> Path:
    return run_dir / "streams" / f"{safe_name(step_id)}.{'jsonl' if fmt == 'jsonl' else 'txt'}"


class FileHandler(StreamHandler):
    name = "file"

    def __init__(self, context: HandlerContext, options: FileHandlerOptions, env: HandlerEnvironment) -> None:
        super().__init__(context, options, env)
        self.format = options.format
        if options.path:
            # A path given for a parallel or batch step would be shared by its tasks: keep them apart.
            path = Path(options.path)
            if context.parallel:
                task = safe_name(context.step_id.rsplit(".", 1)[-1])
                path = path.with_name(f"{path.stem}.{task}{path.suffix}")
            self.path = confined(context.run_dir, path, "file handler path")
        else:
            self.path = default_stream_path(context.run_dir, context.step_id, self.format)
        self.append = options.append
        self.max_bytes = options.max_bytes or 0
        self.backups = options.backups
        self._pending: list[str] = []
        self._file: Any = None
        self._start = 0  # offset where the current turn's text begins (append mode keeps what was there)
        self._size = 0  # bytes in the current file
        self._turn_rotations = 0  # rotations since the current turn began (a retry takes them back)

    async def open(self) -> None:
        await aiofiles.os.makedirs(self.path.parent, exist_ok=True)
        self._file = await aiofiles.open(self.path, "a" if self.append else "w", encoding="utf-8")
        self._start = self._size = await self._file.tell()

    def _line(self, kind: str, **fields: Any) -> str:
        record = {"ts": time.time(), "step": self.context.step_id, "event": kind, **fields}
        return json.dumps(record, ensure_ascii=False) + "\n"

    async def handle(self, chunks: Sequence[str]) -> None:
        if self.format == "jsonl":
            self._pending.extend(self._line("text", text=chunk) for chunk in chunks)
        else:
            self._pending.extend(chunks)

    async def handle_event(self, event: Event) -> None:
        if type(event) is TurnStarted:
            # A retry of this turn truncates back to here; earlier turns' text stays.
            await self.flush()
            self._start, self._turn_rotations = self._size, 0
        if self.format == "jsonl" and type(event) is not TextDelta:
            fields = event_to_dict(event)
            fields.pop("step_id", None)
            self._pending.append(self._line(fields.pop("kind"), **fields))

    async def restart(self, event: Retrying) -> None:
        self._pending.clear()
        if self._turn_rotations:
            await self._unrotate()
        await self._file.flush()
        await self._file.truncate(self._start)
        await self._file.seek(self._start)
        self._size = self._start

    async def flush(self) -> None:
        if not self._pending or self._file is None:
            return
        pieces, self._pending = self._pending, []
        if not self.max_bytes:
            await self._write("".join(pieces))
        elif self.format == "jsonl":
            await self._write_lines(pieces)
        else:
            await self._write_split("".join(pieces))
        await self._file.flush()

    async def _write(self, data: str) -> None:
        await self._file.write(data)
        self._size += utf8_size(data)

    async def _write_split(self, data: str) -> None:
        """Text up to `max_bytes` per file, rotating as often as it takes; cut between characters."""
        while data:
            piece = _first_bytes(data, self.max_bytes - self._size)
            if not piece and self._size == 0:
                piece = data[0]  # a limit below one character's size: that character goes alone
            if not piece:
                await self._rotate()
                continue
            await self._write(piece)
            data = data[len(piece) :]

    async def _write_lines(self, lines: list[str]) -> None:
        """Whole lines up to `max_bytes` per file: a JSON record is never split across files."""
        batch: list[str] = []
        size = self._size
        for line in lines:
            length = utf8_size(line)
            if size and size + length > self.max_bytes:
                await self._write("".join(batch))
                await self._rotate()
                batch, size = [], 0
            batch.append(line)
            size += length
        await self._write("".join(batch))

    async def _rotate(self) -> None:
        await self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = await aiofiles.open(self.path, "w", encoding="utf-8")
        self._size = 0
        self._turn_rotations += 1

    async def _unrotate(self) -> None:
        """Back to the file the current turn began in, when the backups still hold it."""
        await self._file.close()
        if self.backups >= self._turn_rotations:
            for _ in range(self._turn_rotations):
                os.replace(self.path.with_name(f"{self.path.name}.1"), self.path)
                for n in range(2, self.backups + 1):
                    newer = self.path.with_name(f"{self.path.name}.{n}")
                    if newer.exists():
                        os.replace(newer, self.path.with_name(f"{self.path.name}.{n - 1}"))
            self._file = await aiofiles.open(self.path, "r+", encoding="utf-8")
        else:
            self._file = await aiofiles.open(self.path, "w", encoding="utf-8")
            self._start = 0
        self._turn_rotations = 0

    async def close(self, finished: StepFinished | None) -> None:
        if self._file is not None:
            await self.flush()
            await self._file.close()
            self._file = None


def _first_bytes(text: str, limit: int) -> str:
    """The longest start of `text` whose UTF-8 form fits in `limit` bytes (cut between characters)."""
    if limit <= 0:
        return ""
    if text.isascii():
        return text[:limit]
    data = text.encode("utf-8")
    if len(data) <= limit:
        return text
    return data[:limit].decode("utf-8", errors="ignore")  # a cut character is left whole for the next file
