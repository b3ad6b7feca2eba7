"""Signals that stop a console run: the first Ctrl+C or SIGTERM stops it cleanly, a second one ends
the process at once, and so does a clean stop that has not finished within the grace period.

Python-level handlers (not the event loop's) so they are answered even while the loop is busy:
they run between bytecodes, and the grace timer runs in a thread of its own. Either way the run
record is written before the process ends.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
from typing import Any

from engine.results import EXIT_INTERRUPTED

GRACE_S = 1.5  # a clean stop normally takes well under this; a stuck one must not keep the process


class StopSignals:
    def __init__(self, handle: Any, loop: asyncio.AbstractEventLoop, grace_s: float = GRACE_S) -> None:
        self.handle = handle
        self.loop = loop
        self.grace_s = grace_s
        self.received = 0

    def install(self) -> None:
        for sig in (signal.SIGINT, signal.SIGTERM):
            signal.signal(sig, self._on_signal)

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.received += 1
        name = "Ctrl+C" if signum == signal.SIGINT else signal.Signals(signum).name
        if self.received > 1:
            self.force(f"forced quit ({name} twice)")
        reason = "interrupted by user (Ctrl+C)" if signum == signal.SIGINT else f"terminated ({name})"
        print(f"\nstopping: interrupting running steps ({name} again to force)", file=sys.stderr, flush=True)
        with contextlib.suppress(RuntimeError):  # the loop is already closed: nothing left to stop
            self.loop.call_soon_threadsafe(self.handle.interrupt_all, reason)
        timer = threading.Timer(
            self.grace_s, self.force, args=(f"forced quit (no clean stop in {self.grace_s:g} s)",)
        )
        timer.daemon = True
        timer.start()

    def force(self, reason: str) -> None:
        """End the process now. An unfinished run's record is written first, marked interrupted."""
        task = self.handle.task
        code = EXIT_INTERRUPTED
        if task.done() and not task.cancelled() and task.exception() is None:
            code = task.result().exit_code  # the run ended: its record is already complete
        else:
            for _ in range(3):  # from the timer thread the loop may be changing the record meanwhile
                try:
                    self.handle.record_forced_quit(reason)
                    break
                except RuntimeError:
                    continue
            print(f"pipeline: {reason}; record: {self.handle.run_dir}/run.json", file=sys.stderr, flush=True)
        with contextlib.suppress(Exception):
            sys.stdout.flush()
        os._exit(code)
