"""What a step type's executor may use: the narrow view of a run it gets instead of the runner.

An executor is `async def run(context: StepContext, step) -> StepResult`: it reads its step's model,
runs conversations through `context.converse` (once, or many at once), and may read earlier
results, publish events, save output inside the run folder and learn why it is being stopped.
"""

from __future__ import annotations

from collections.abc import Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

import anthropic

from engine.control import StopRequest, run_as_step
from engine.conversation import (
    ConversationPlan,
    RunEnvironment,
    TurnLoop,
    plain_turns,
    run_conversation,
    start_handlers,
)
from engine.events import Event
from engine.handlers import HandlerContext, HandlerPump
from engine.results import StepResult
from engine.spool import TextSpool
from engine.templating import Scope
from engine.workflow.model import ClaudeOptions, PromptPart, StepBase

T = TypeVar("T")


@dataclass
class StepContext:
    step: StepBase
    scope: Scope
    results: Mapping[str, StepResult]  # earlier steps' results, by step name
    _run: RunEnvironment
    # Results of the tasks of parallel and batch steps, by step id (`step.task`), in the run record.
    _task_results: dict[str, StepResult] = field(default_factory=dict)
    # Resuming a run (`--resume`): the Message Batches its interrupted `api: batches` step had
    # submitted, to read instead of submitting its items again.
    resume_batches: tuple[str, ...] = ()

    @property
    def client(self) -> anthropic.AsyncAnthropic:
        return self._run.client

    @property
    def workspace(self) -> Path:
        return self._run.workspace

    @property
    def run_id(self) -> str:
        return self._run.run_id

    def is_this_run(self, run_id: str | None) -> bool:
        """This run, or the run it resumes (whose conversations it carries on)."""
        return run_id is not None and run_id in (self._run.run_id, self._run.resumed_from)

    def publish(self, event: Event) -> None:
        self._run.publish(event)

    def new_spool(self) -> TextSpool:
        return self._run.new_spool()

    def stop_request(self, step_id: str | None = None) -> StopRequest | None:
        """Why this step (or one of its tasks, or the whole run) is being stopped, if it is."""
        return self._run.control.reason(step_id or self.step.name)

    def run_stopping(self) -> StopRequest | None:
        """Why the whole run is stopping (quit, Ctrl+C, the budget), if it is; None for this step alone."""
        return self._run.control.stopping

    async def interruptible(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` as this step's own task, so the run handle's interrupt of the step cancels it
        (for work that is not a conversation, e.g. waiting on a Message Batch)."""
        return await run_as_step(self._run.control, self.step.name, work)

    def start_handlers(self, task_id: str, options: ClaudeOptions) -> tuple[list[HandlerPump], str | None]:
        """The stream handlers of one of this step's tasks, subscribed, for an answer that did not stream
        (a batch result); and why one could not be built."""
        run = self._run
        step_id = f"{self.step.name}.{task_id}"
        context = HandlerContext(run.run_id, run.run_dir, run.workflow_name, step_id, self.step.type, True)
        return start_handlers(run, options, context, lambda failure: None)

    def interrupt(self, step_id: str, reason: str) -> None:
        """Stop one of this step's own tasks (e.g. the others once one failed, under fail_fast)."""
        self._run.control.interrupt(step_id, reason, "guard")

    def record_task(self, result: StepResult) -> None:
        """A task's result, for the run's result; recorded again last, it moves to the end."""
        self._task_results.pop(result.step_id, None)
        self._task_results[result.step_id] = result

    def save_output(self, spool: TextSpool, relative: str) -> str | None:
        """`output_to_file`: the text saved inside the run folder; why it could not be, if so."""
        return self._run.save_output(spool, relative)

    async def converse(
        self,
        options: ClaudeOptions | None = None,
        prompt: Sequence[PromptPart] | None = None,
        *,
        task_id: str | None = None,
        scope: Scope | None = None,
        turn_loop: TurnLoop = plain_turns,
        keep_text: bool = False,
        system_suffix: str = "",
        output_to_file: str | None = None,
    ) -> StepResult:
        """One streamed conversation: the step's own (defaults), or one of its tasks (`task_id`).

        The step's own conversation saves the step's `output_to_file`; a task saves the one given.
        """
        step = self.step
        plan = ConversationPlan(
            f"{step.name}.{task_id}" if task_id else step.name,
            step.type,
            options if options is not None else step.claude_options,
            prompt if prompt is not None else step.prompt,
            scope or self.scope,
            parent_id=step.name if task_id else None,
            turn_loop=turn_loop,
            keep_text=keep_text,
            system_suffix=system_suffix,
            output_to_file=output_to_file if task_id else step.output_to_file,
        )
        return await run_conversation(self._run, plan)
