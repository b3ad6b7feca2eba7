"""Which step tasks are running, and why each was asked to stop: where the run handle's interrupts land.

Interruption is task cancellation. The reason (and who asked: the user or a guard) is remembered
before the task is cancelled, so the step can record why it ended; queued tasks of a parallel step
read it before they start.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, TypeVar

from engine.results import StoppedBy

T = TypeVar("T")


@dataclass(frozen=True)
class StopRequest:
    reason: str
    by: StoppedBy = "user"


class StepControl:
    def __init__(self) -> None:
        self.tasks: dict[str, asyncio.Task[object]] = {}
        self._requests: dict[str, StopRequest] = {}
        self.stopping: StopRequest | None = None  # the whole run is stopping, and why

    def track(self, step_id: str, task: asyncio.Task[object]) -> None:
        self.tasks[step_id] = task
        if self.stopping is not None:
            self.interrupt(step_id, self.stopping.reason, self.stopping.by)

    def untrack(self, step_id: str) -> None:
        self.tasks.pop(step_id, None)

    def interrupt(self, step_id: str, reason: str, by: StoppedBy = "user") -> bool:
        """Stop `step_id` and its tasks (`step_id.*`); False when nothing of that name runs."""
        request = StopRequest(reason, by)
        self._requests.setdefault(step_id, request)
        targets = [sid for sid in self.tasks if sid == step_id or sid.startswith(step_id + ".")]
        for sid in targets:
            task = self.tasks[sid]
            if not task.done():
                self._requests.setdefault(sid, request)
                task.cancel(reason)
        return bool(targets)

    def interrupt_all(self, reason: str, by: StoppedBy = "user") -> None:
        self.stop_run(reason, by)
        for sid in list(self.tasks):
            self.interrupt(sid, reason, by)

    def stop_run(self, reason: str, by: StoppedBy) -> None:
        """No further step starts (the steps running now are left to finish)."""
        if self.stopping is None:
            self.stopping = StopRequest(reason, by)

    def request(self, step_id: str) -> StopRequest | None:
        """Why `step_id` itself was asked to stop, if it was."""
        return self._requests.get(step_id)

    def reason(self, step_id: str) -> StopRequest | None:
        """Why `step_id` (or the whole run) was asked to stop, if it was."""
        return self._requests.get(step_id) or self.stopping


async def run_as_step(control: StepControl, step_id: str, work: Coroutine[Any, Any, T]) -> T:
    """Run `work` as step `step_id`'s own task, so interrupting the step cancels it (and only it)."""
    task = asyncio.create_task(work, name=f"step:{step_id}")
    control.track(step_id, task)  # type: ignore[arg-type]
    try:
        return await asyncio.shield(task)
    except asyncio.CancelledError:
        # The caller was cancelled (e.g. the run itself): stop the step too and wait for its record.
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
        raise
    finally:
        control.untrack(step_id)
