"""The dashboard's state for a batch step: its batches' status, items done, time since the last change."""

from __future__ import annotations

from engine.events import BatchProgress, StepFinished, StepStarted
from tui.run_state import RunState


def test_a_batch_step_reads_as_its_batches_and_the_items_done():
    clock = [100.0]
    state = RunState(clock=lambda: clock[0])
    ids = ("sums.item-1", "sums.item-2", "sums.item-3")
    state.apply([StepStarted("sums", "claude_batch", "m", None, ids)])
    state.apply([BatchProgress("sums", "msgbatch_a", "in_progress", 3)])
    clock[0] = 110.0
    state.apply([BatchProgress("sums", "msgbatch_a", "in_progress", 3)])  # no change
    step = state.steps["sums"]
    assert (
        step.activity(114.0) == "batch in_progress · 0/3 done · 0 of 1 batches ended · 14 s, changed 14 s ago"
    )
    state.apply(
        [BatchProgress("sums", "msgbatch_a", "ended", 0, 3), StepFinished("sums.item-1", "succeeded")]
    )
    assert step.activity(116.0).startswith("batch ended · 1/3 done · 1 of 1 batches ended")
