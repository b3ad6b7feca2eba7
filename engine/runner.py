"""The Runner: runs a workflow's steps in order and publishes what happens as events.

`Runner.start()` returns the run handle, the one object through which control flows back into the
engine: `interrupt(step_id, reason)`, `interrupt_all(reason)`, and `await handle` for the result.
Each step runs through its type's executor (`engine.workflow.registry`), which sees a narrow
`StepContext`, never the runner.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from pathlib import Path
from typing import Any

import anthropic
from opentelemetry.trace import StatusCode

from engine.bus import EventBus
from engine.conditions import ConditionError, evaluate_condition
from engine.context import StepContext
from engine.control import StepControl
from engine.conversation import RunEnvironment
from engine.events import RunFinished, RunStarted, StepFinished, StepStarted, TextDelta
from engine.fingerprint import step_fingerprint
from engine.handlers import HandlerEnvironment
from engine.meter import RunBudget
from engine.record import RunRecorder, save_result
from engine.results import RunResult, StepResult
from engine.resume import ResumeSource, Reuse
from engine.telemetry import record_outcome, tracer
from engine.templating import Scope
from engine.workflow.model import StepBase, Workflow
from engine.workflow.registry import STEP_TYPES


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class RunHandle:
    """Control of a running workflow, and its result when awaited."""

    def __init__(self, runner: Runner, task: asyncio.Task[RunResult]) -> None:
        self._control = runner.control
        self._recorder = runner.recorder
        self._handlers = runner.env.handlers
        self.bus = runner.env.bus
        self.run_id = runner.env.run_id
        self.run_dir = runner.env.run_dir
        self.simulated = runner.simulated
        self.task = task

    @property
    def buffers(self) -> dict[str, Any]:
        """Buffer handlers by step id: their text stays readable after the step ends."""
        return self._handlers.buffers

    def interrupt(self, step_id: str, reason: str = "interrupted by user") -> bool:
        return self._control.interrupt(step_id, reason, "user")

    def interrupt_all(self, reason: str = "interrupted by user") -> None:
        self._control.interrupt_all(reason, "user")

    def record_forced_quit(self, reason: str) -> None:
        """The process must end before the run stopped cleanly: write run.json now, synchronously, with
        the run and its unfinished steps marked interrupted, so the record stays consistent."""
        self._recorder.snapshot(status="interrupted", reason=reason)

    def __await__(self):  # type: ignore[no-untyped-def]
        return self.task.__await__()


class Runner:
    def __init__(
        self,
        workflow: Workflow,
        client: anthropic.AsyncAnthropic,
        *,
        provider: str = "anthropic",
        simulated: bool = False,
        output_dir: Path | None = None,
        handlers: HandlerEnvironment | None = None,
        run_id: str | None = None,
        resume: ResumeSource | None = None,
    ) -> None:
        self.workflow = workflow
        self.provider = provider
        self.simulated = simulated
        run_id = run_id or new_run_id()
        run_dir = Path(output_dir or workflow.output_dir) / run_id
        self.control = StepControl()
        self.env = RunEnvironment(
            run_id=run_id,
            run_dir=run_dir,
            workflow_name=workflow.name,
            workspace=Path(workflow.workspace_dir),
            client=client,
            bus=EventBus(),
            control=self.control,
            budget=RunBudget(workflow.budget_usd, lambda why: self.control.interrupt_all(why, "guard")),
            handlers=handlers or HandlerEnvironment(),
            resumed_from=resume.run_id if resume else None,
        )
        self.resume = resume
        self.recorder = RunRecorder(
            run_dir,
            str(workflow.source or ""),
            resumed_from=resume.run_id if resume else None,
            vars=dict(workflow.vars),
        )
        if workflow.source is not None:
            self.env.handlers.module_paths = (Path.cwd(), workflow.source.parent)
        self.results: dict[str, StepResult] = {}
        self.task_results: dict[str, StepResult] = {}  # tasks of parallel and batch steps, by step id

    @property
    def run_id(self) -> str:
        return self.env.run_id

    @property
    def run_dir(self) -> Path:
        return self.env.run_dir

    def start(self) -> RunHandle:
        return RunHandle(self, asyncio.create_task(self._run(), name=f"run:{self.run_id}"))

    async def _run(self) -> RunResult:
        started = time.monotonic()
        env, control, workflow = self.env, self.control, self.workflow
        self.recorder.start(env.bus)
        status, reason = "succeeded", ""
        attributes = {"pipeline.workflow": workflow.name, "pipeline.run_id": self.run_id}
        with tracer.start_as_current_span("pipeline.run", attributes=attributes) as span:
            env.publish(
                RunStarted(
                    self.run_id,
                    workflow.name,
                    self.provider,
                    self.simulated,
                    str(self.run_dir),
                    tuple(s.name for s in workflow.steps),
                    workflow.budget_usd,
                )
            )
            try:
                for step in workflow.steps:
                    if control.stopping is not None:
                        self._skip(step, control.stopping.reason)
                        continue
                    result = await self._run_step(step)
                    if result.status in ("failed", "interrupted") and workflow.on_error == "stop":
                        control.stop_run(
                            f"step {step.name} {result.status}: {result.reason}", result.stopped_by or "guard"
                        )
            finally:
                # Any failed step fails the run (exit 1), also under on_error: continue; a run stopped
                # early is interrupted (by the user: 130, by a guard: 3); a step a guard interrupted
                # under continue is in its record.
                failed = next((r for r in self.results.values() if r.status == "failed"), None)
                if failed is not None:
                    status, reason = (
                        "failed",
                        f"step {failed.step_id} failed: {failed.error or failed.reason}",
                    )
                elif control.stopping is not None:
                    status, reason = "interrupted", control.stopping.reason
                cost = sum(r.metrics.cost_usd for r in self.results.values())
                duration = time.monotonic() - started
                env.publish(RunFinished(self.run_id, status, reason, cost, duration))  # type: ignore[arg-type]
                span.set_attributes({"pipeline.status": status, "pipeline.cost_usd": cost})
                if status == "failed":
                    span.set_status(StatusCode.ERROR, reason)
                await self.recorder.stop()
        stopped_by = control.stopping.by if status == "interrupted" and control.stopping else None
        return RunResult(
            self.run_id,
            self.run_dir,
            status,
            reason,
            self.results,
            self.task_results,
            cost,
            duration,
            stopped_by,
            self.recorder.state["workflow_file"],
        )

    def _skip(self, step: StepBase, reason: str) -> None:
        self.results[step.name] = StepResult(step.name, "skipped", reason)
        self.env.publish(StepFinished(step.name, "skipped", reason))

    async def _run_step(self, step: Any) -> StepResult:
        # Relative prompt files are read from the workflow file's folder, as validate looks for them.
        base_dir = self.workflow.source.parent if self.workflow.source else None
        scope = Scope(self.results, dict(self.workflow.vars), workspace=self.env.workspace, base_dir=base_dir)
        if step.condition:
            try:
                run_it = evaluate_condition(step.condition, scope)
            except ConditionError as exc:
                return self._fail_early(step, str(exc))
            if not run_it:
                self._skip(step, f"condition is false: {step.condition}")
                return self.results[step.name]
        fingerprint = await step_fingerprint(step, scope)
        batches = self.resume.batch_ids(step.name, fingerprint) if self.resume else ()
        context = StepContext(step, scope, self.results, self.env, self.task_results, batches)
        reuse = self.resume.reuse(step.name, fingerprint, self.run_dir / "spool") if self.resume else None
        attributes = {"pipeline.step": step.name, "pipeline.step_type": step.type}
        # Current while the step runs: its conversation's spans, or its tasks', are its children.
        with tracer.start_as_current_span("pipeline.step", attributes=attributes) as span:
            if reuse is not None:
                result = self._publish_reused(step, reuse)
                span.set_attribute("pipeline.reused", True)
            else:
                executor = STEP_TYPES[step.type].load_executor()
                try:
                    result = await executor(context, step)
                except Exception as exc:
                    # An executor crashing (a bug, not a failed call) fails its step and so the run: the
                    # record must never say `succeeded` for it.
                    return self._fail_early(step, f"crash: {type(exc).__name__}: {exc}")
            record_outcome(span, result.status, result.reason, result.metrics)
        self.results[step.name] = result
        self._save(step.name, result, fingerprint)
        return result

    def _save(self, step_id: str, result: StepResult, fingerprint: str | None) -> None:
        """The step's and its tasks' results into the run folder; the record learns where from the event.
        An itemized step's tasks are in its items file already (the record writes it as they end)."""
        for task_id, task in self.task_results.items():
            if not result.itemized and task_id.startswith(step_id + "."):
                self.env.publish(save_result(self.run_dir, task, None, task.reused_from))
        self.env.publish(save_result(self.run_dir, result, fingerprint, result.reused_from))

    def _publish_reused(self, step: StepBase, reuse: Reuse) -> StepResult:
        """A reused step goes through the same events as a run one (its text in one delta), no API call."""
        publish, result = self.env.publish, reuse.result
        outputs = {f"{step.name}.{t.id}": t.output_to_file for t in getattr(step, "parallel_tasks", ())}
        outputs[step.name] = step.output_to_file
        task_ids = tuple(t.step_id for t in reuse.tasks)
        publish(StepStarted(step.name, step.type, reuse.models[step.name], None, task_ids, result.itemized))
        for task in reuse.tasks:
            publish(StepStarted(task.step_id, step.type, reuse.models[task.step_id], step.name))
            if task.text:
                publish(TextDelta(task.step_id, task.text))
            status: Any = task.status
            publish(StepFinished(task.step_id, status, task.reason, task.stop_reason, None, task.metrics))
            if not result.itemized:  # an itemized step's items are in its data and its items file
                self.task_results[task.step_id] = task
        if not reuse.tasks and result.text:
            publish(TextDelta(step.name, result.text))
        for reused in (*reuse.tasks, result):
            relative = outputs.get(reused.step_id)
            if relative and reused.spool is not None:
                self.env.save_output(reused.spool, relative)
        publish(StepFinished(step.name, "succeeded", result.reason, result.stop_reason, None, result.metrics))
        return result

    def _fail_early(self, step: Any, reason: str) -> StepResult:
        """The step fails outside any conversation (its condition, its executor): said in events too."""
        result = StepResult(step.name, "failed", reason, error=reason)
        self.results[step.name] = result
        self.env.publish(StepStarted(step.name, step.type, "", None))
        self.env.publish(StepFinished(step.name, "failed", reason, error=reason))
        return result
