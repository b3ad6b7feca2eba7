"""Resuming a run: which recorded step results a new run may reuse instead of asking again.

A step is reused when it succeeded in the earlier run, its input fingerprint is unchanged (same
definition, same assembled prompt, same model) and its text (and its tasks' texts) can be read back
from that run's folder. Everything else runs again.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from engine.events import StepMetrics
from engine.history import items_of, read_record, step_data, step_text
from engine.results import StepResult
from engine.spool import HeldText, TextSpool


@dataclass(frozen=True)
class Reuse:
    """A step's recorded result (and its tasks', for parallel and batch steps), ready to stand in."""

    result: StepResult
    tasks: tuple[StepResult, ...]
    models: dict[str, str]  # step id -> the model it ran on, for the events that announce it


@dataclass(frozen=True)
class ResumeSource:
    run_id: str
    run_dir: Path
    record: dict[str, Any]

    @classmethod
    def load(cls, run_dir: Path) -> ResumeSource:
        """Raises `engine.history.RecordError` (one line) when the record cannot be read."""
        record = read_record(run_dir)
        return cls(str(record.get("run_id") or run_dir.name), run_dir, record)

    @property
    def workflow_file(self) -> str | None:
        value = self.record.get("workflow_file")
        return value if isinstance(value, str) and value else None

    def reuse(self, step_id: str, fingerprint: str | None, spool_dir: Path) -> Reuse | None:
        steps = self.record.get("steps", {})
        step = steps.get(step_id)
        if fingerprint is None or not isinstance(step, dict):
            return None
        if step.get("status") != "succeeded" or step.get("fingerprint") != fingerprint:
            return None
        result = self._result(step_id, step, spool_dir)
        if result is None:
            return None
        tasks = []
        models = {step_id: step.get("model") or ""}
        if step.get("items"):
            items = self._items(step_id, step)
            if items is None:
                return None
            for item, model in items:
                tasks.append(item)
                models[item.step_id] = model
            return Reuse(result, tuple(tasks), models)
        for task_id, task in steps.items():
            if isinstance(task, dict) and task.get("parent") == step_id:
                task_result = self._result(task_id, task, spool_dir)
                if task_result is None:
                    return None
                tasks.append(task_result)
                models[task_id] = task.get("model") or ""
        return Reuse(result, tuple(tasks), models)

    def _items(self, step_id: str, step: dict[str, Any]) -> list[tuple[StepResult, str]] | None:
        """An itemized step's items from its items file (their text held as strings: there may be
        100,000), with their models; None unless every item is there and succeeded."""
        found: dict[str, tuple[StepResult, str]] = {}
        for item in items_of(self.run_dir, self.record, step_id):
            if item.get("status") != "succeeded" or not item["id"].startswith(step_id + "."):
                return None
            text = item.get("text") if isinstance(item.get("text"), str) else ""
            result = StepResult(
                item["id"],
                "succeeded",
                f"reused from run {self.run_id}",
                stop_reason=item.get("stop_reason"),
                metrics=StepMetrics(bytes=len(text.encode("utf-8"))),
                spool=HeldText(text),
                reused_from=self.run_id,
            )
            found[item["id"]] = (result, str(item.get("model") or ""))
        if len(found) != (step.get("items") or {}).get("count"):
            return None
        return list(found.values())

    def batch_ids(self, step_id: str, fingerprint: str | None) -> tuple[str, ...]:
        """The Message Batches an `api: batches` step of the earlier run submitted (run.json
        `steps.<step>.batches`), when the step is unchanged: read again instead of resubmitted."""
        step = self.record.get("steps", {}).get(step_id)
        if not isinstance(step, dict) or fingerprint is None or step.get("fingerprint") != fingerprint:
            return ()
        batches = step.get("batches")
        return tuple(batches) if isinstance(batches, dict) else ()

    def _result(self, step_id: str, step: dict[str, Any], spool_dir: Path) -> StepResult | None:
        text = step_text(self.run_dir, self.record, step_id)
        status = str(step.get("status") or "")
        if text is None and status != "skipped":
            return None
        spool = None
        if text is not None:
            spool = TextSpool(spool_dir)
            spool.append(text)
        reason = f"reused from run {self.run_id}" if status == "succeeded" else str(step.get("reason") or "")
        return StepResult(
            step_id,
            status,
            reason,
            stop_reason=step.get("stop_reason"),
            # This run spent nothing on it: tokens and cost stay in the run that paid for them.
            metrics=StepMetrics(bytes=len(text.encode("utf-8")) if text else 0),
            data=step_data(self.run_dir, self.record, step_id),
            spool=spool,
            reused_from=self.run_id,
            itemized=bool(step.get("items")),
        )
