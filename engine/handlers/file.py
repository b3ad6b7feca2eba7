"""The file handler: appends a step's stream to a file with aiofiles, flushed to the OS after each batch.

`format: text` writes the text as is (so `tail -f` shows it arrive); `jsonl` writes one event per
line with a timestamp. `max_bytes` rotates the file (`path.1`, `path.2`, ...). A retried attempt
truncates the file back to where its turn began, so the file never holds text twice.
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
        self._start = 0  # offset where this step's text begins (append mode keeps what was there)
        self._size = 0

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
            self._start = self._size
        if self.format == "jsonl" and type(event) is not TextDelta:
            fields = event_to_dict(event)
            fields.pop("step_id", None)
            self._pending.append(self._line(fields.pop("kind"), **fields))

    async def restart(self, event: Retrying) -> None:
        self._pending.clear()
        await self._file.flush()
        await self._file.truncate(self._start)
        await self._file.seek(self._start)
        self._size = self._start

    async def flush(self) -> None:
        if not self._pending or self._file is None:
            return
        data = "".join(self._pending)
        self._pending.clear()
        await self._file.write(data)
        await self._file.flush()
        self._size += len(data.encode("utf-8")) if not data.isascii() else len(data)
        if self.max_bytes and self._size >= self.max_bytes:
            await self._rotate()

    async def _rotate(self) -> None:
        await self._file.close()
        for n in range(self.backups - 1, 0, -1):
            older = self.path.with_name(f"{self.path.name}.{n}")
            if older.exists():
                os.replace(older, self.path.with_name(f"{self.path.name}.{n + 1}"))
        if self.backups > 0:
            os.replace(self.path, self.path.with_name(f"{self.path.name}.1"))
        self._file = await aiofiles.open(self.path, "w", encoding="utf-8")
        self._start = self._size = 0

    async def close(self, finished: StepFinished | None) -> None:
        if self._file is not None:
            await self.flush()
            await self._file.close()
            self._file = None
