"""The Runner: runs a workflow's steps in order and publishes what happens as events.

`Runner.start()` returns the run handle, the one object through which control flows back into the
engine: `interrupt(step_id, reason)`, `interrupt_all(reason)`, and `await handle` for the result.
Interruption is task cancellation; whatever a step holds (HTTP stream, handlers, files) is
released in its `finally`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anthropic

from engine.bus import EventBus
from engine.claude import ModelReply, call_model
from engine.conditions import ConditionError, evaluate_condition
from engine.events import (
    Event,
    Interrupted,
    Retrying,
    RunFinished,
    RunStarted,
    StepFinished,
    StepMetrics,
    StepPhase,
    StepStarted,
    ToolResult,
    TurnStarted,
)
from engine.handlers import HandlerEnvironment, HandlerPump, StepContext, build_handler
from engine.meter import RunBudget, StepMeter, StopRequested
from engine.record import RunRecorder
from engine.retry import AttemptFailed, RetryPolicy
from engine.spool import TextSpool
from engine.telemetry import tracer
from engine.templating import PromptError, Scope, assemble_prompt
from engine.workflow.presets import DEFAULT_MODEL

if TYPE_CHECKING:
    from engine.tools import ToolBox

DEFAULT_MAX_TOKENS = 4096
DEFAULT_MAX_TURNS = 10  # model turns of a tool loop when the step sets no max_turns


class Stalled(AttemptFailed):
    """No token arrived for `idle_timeout_seconds`."""


@dataclass
class StepResult:
    step_id: str
    status: str
    reason: str = ""
    stop_reason: str | None = None
    error: str | None = None
    metrics: StepMetrics = field(default_factory=StepMetrics)
    data: Any = None
    spool: TextSpool | None = None

    @property
    def text(self) -> str:
        return self.spool.text() if self.spool is not None else ""


@dataclass
class RunResult:
    run_id: str
    run_dir: Path
    status: str
    reason: str
    steps: dict[str, StepResult]
    tasks: dict[str, StepResult]
    cost_usd: float
    duration_s: float

    @property
    def exit_code(self) -> int:
        return {"succeeded": 0, "failed": 1}.get(self.status, 130)


def new_run_id() -> str:
    return time.strftime("%Y%m%d-%H%M%S") + "-" + secrets.token_hex(2)


class RunHandle:
    """Control of a running workflow, and its result when awaited."""

    def __init__(self, runner: Runner) -> None:
        self._runner = runner
        self.bus = runner.bus
        self.run_id = runner.run_id
        self.run_dir = runner.run_dir
        self.task: asyncio.Task[RunResult] | None = None

    @property
    def buffers(self) -> dict[str, Any]:
        """Buffer handlers by step id: their text stays readable after the step ends."""
        return self._runner.env.buffers

    def interrupt(self, step_id: str, reason: str = "interrupted by user") -> bool:
        return self._runner.interrupt(step_id, reason)

    def interrupt_all(self, reason: str = "interrupted by user") -> None:
        self._runner.interrupt_all(reason)

    def record_forced_quit(self, reason: str) -> None:
        """The process must end before the run stopped cleanly: write run.json now, synchronously, with
        the run and its unfinished steps marked interrupted, so the record stays consistent."""
        self._runner.recorder.snapshot(status="interrupted", reason=reason)

    def __await__(self):  # type: ignore[no-untyped-def]
        assert self.task is not None
        return self.task.__await__()


class Runner:
    def __init__(
        self,
        workflow: Any,
        client: anthropic.AsyncAnthropic,
        *,
        provider: str = "anthropic",
        simulated: bool = False,
        output_dir: Path | None = None,
        env: HandlerEnvironment | None = None,
        run_id: str | None = None,
    ) -> None:
        self.workflow = workflow
        self.client = client
        self.provider = provider
        self.simulated = simulated
        self.run_id = run_id or new_run_id()
        self.run_dir = Path(output_dir or workflow.output_dir) / self.run_id
        self.workspace = Path(getattr(workflow, "workspace_dir", "./workspace"))
        self.bus = EventBus()
        self.env = env or HandlerEnvironment()
        self.recorder = RunRecorder(self.run_dir, str(getattr(workflow, "source", "") or ""))
        self.results: dict[str, StepResult] = {}
        self.task_results: dict[str, StepResult] = {}  # tasks of parallel and batch steps, by step id
        self.step_tasks: dict[str, asyncio.Task[StepResult]] = {}
        self._interrupt_reasons: dict[str, str] = {}
        self._stopping: str | None = None
        self.budget = RunBudget(getattr(workflow, "budget_usd", None), self.interrupt_all)
        self.vars = dict(getattr(workflow, "vars", {}) or {})

    # -- control -------------------------------------------------------------------------------

    def interrupt(self, step_id: str, reason: str) -> bool:
        # Remembered for the step itself too: queued tasks of a parallel step check it before starting.
        self._interrupt_reasons.setdefault(step_id, reason)
        targets = [sid for sid in self.step_tasks if sid == step_id or sid.startswith(step_id + ".")]
        for sid in targets:
            task = self.step_tasks[sid]
            if not task.done():
                self._interrupt_reasons.setdefault(sid, reason)
                task.cancel(reason)
        return bool(targets)

    def interrupt_all(self, reason: str) -> None:
        if self._stopping is None:
            self._stopping = reason
        for sid in list(self.step_tasks):
            self.interrupt(sid, reason)

    def interrupt_reason(self, step_id: str) -> str | None:
        """Why `step_id` (or the run) was asked to stop, if it was."""
        return self._interrupt_reasons.get(step_id) or self._stopping

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    # -- the run --------------------------------------------------------------------------------

    def start(self) -> RunHandle:
        handle = RunHandle(self)
        handle.task = asyncio.create_task(self._run(), name=f"run:{self.run_id}")
        return handle

    async def _run(self) -> RunResult:
        started = time.monotonic()
        self.recorder.start(self.bus)
        steps = list(self.workflow.steps)
        status, reason = "succeeded", ""
        with tracer.start_as_current_span("pipeline.run", attributes={"workflow": self.workflow.name}):
            self.publish(
                RunStarted(
                    self.run_id,
                    self.workflow.name,
                    self.provider,
                    self.simulated,
                    str(self.run_dir),
                    tuple(s.name for s in steps),
                    getattr(self.workflow, "budget_usd", None),
                )
            )
            try:
                for step in steps:
                    if self._stopping is not None:
                        self._skip(step, self._stopping)
                        continue
                    result = await self._run_step(step)
                    stops = getattr(self.workflow, "on_error", "stop") != "continue"
                    if result.status in ("failed", "interrupted") and stops and self._stopping is None:
                        self._stopping = f"step {step.name} {result.status}: {result.reason}"
            finally:
                # Any failed step fails the run (exit 1), also under on_error: continue; a run stopped
                # early is interrupted (exit 130); a step a guard interrupted under continue is in its record.
                failed = next((r for r in self.results.values() if r.status == "failed"), None)
                if failed is not None:
                    status, reason = (
                        "failed",
                        f"step {failed.step_id} failed: {failed.error or failed.reason}",
                    )
                elif self._stopping is not None:
                    status, reason = "interrupted", self._stopping
                cost = sum(r.metrics.cost_usd for r in self.results.values())
                duration = time.monotonic() - started
                self.publish(RunFinished(self.run_id, status, reason, cost, duration))
                await self.recorder.stop()
        return RunResult(
            self.run_id, self.run_dir, status, reason, self.results, self.task_results, cost, duration
        )

    def _skip(self, step: Any, reason: str) -> None:
        self.results[step.name] = StepResult(step.name, "skipped", reason)
        self.publish(StepFinished(step.name, "skipped", reason))

    async def _run_step(self, step: Any) -> StepResult:
        scope = Scope(self.results, self.vars, workspace=self.workspace)
        condition = getattr(step, "condition", None)
        if condition:
            try:
                run_it = evaluate_condition(condition, scope)
            except ConditionError as exc:
                return self._finish_early(step, "failed", str(exc))
            if not run_it:
                self._skip(step, f"condition is false: {condition}")
                return self.results[step.name]
        from engine.steps import executor_for  # step modules import the runner's helpers

        executor = executor_for(step.type)
        result = await executor(self, step, scope)
        self.results[step.name] = result
        self.save_output(result, getattr(step, "output_to_file", None))
        return result

    def save_output(self, result: StepResult, relative: str | None) -> None:
        """`output_to_file`: the answer (partial ones too) saved inside the run folder."""
        if not relative or result.spool is None or result.status == "skipped":
            return
        target = (self.run_dir / relative).resolve()
        if self.run_dir.resolve() in target.parents:
            result.spool.copy_to(target)

    def _finish_early(self, step: Any, status: str, reason: str) -> StepResult:
        result = StepResult(step.name, status, reason, error=reason if status == "failed" else None)
        self.results[step.name] = result
        self.publish(StepStarted(step.name, step.type, "", None))
        self.publish(StepFinished(step.name, status, reason, error=result.error))  # type: ignore[arg-type]
        return result

    # -- one streamed conversation: what every step type runs -----------------------------------

    async def run_conversation(
        self,
        step_id: str,
        step_type: str,
        options: Any,
        prompt: Any,
        scope: Scope,
        *,
        parent_id: str | None = None,
        turn_loop: Callable[[Conversation], Awaitable[ModelReply]] | None = None,
    ) -> StepResult:
        """Run one conversation as a task the run handle can interrupt, with handlers and retries."""
        task = asyncio.create_task(
            self._conversation(step_id, step_type, options, prompt, scope, parent_id, turn_loop),
            name=f"step:{step_id}",
        )
        self.step_tasks[step_id] = task
        if self._stopping is not None:
            self.interrupt(step_id, self._stopping)
        try:
            return await asyncio.shield(task)
        except asyncio.CancelledError:
            # The caller was cancelled (e.g. the run itself): stop the step too and wait for its record.
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
            raise
        finally:
            self.step_tasks.pop(step_id, None)

    async def _conversation(
        self,
        step_id: str,
        step_type: str,
        options: Any,
        prompt: Any,
        scope: Scope,
        parent_id: str | None,
        turn_loop: Callable[[Conversation], Awaitable[ModelReply]] | None,
    ) -> StepResult:
        model = getattr(options, "model", None) or DEFAULT_MODEL
        meter = StepMeter(tuple(getattr(options, "stop_on", ()) or ()), self.budget)
        spool = TextSpool(self.run_dir / "spool")
        context = StepContext(
            self.run_id, self.run_dir, self.workflow.name, step_id, step_type, parallel=parent_id is not None
        )
        pumps = self._start_handlers(options, context)
        self.publish(StepStarted(step_id, step_type, model, parent_id))
        status, reason, error, stop_reason = "succeeded", "", None, None
        conversation: Conversation | None = None
        span = tracer.start_span("pipeline.step", attributes={"step": step_id, "type": step_type})
        timeout = getattr(options, "timeout_seconds", None)
        deadline = asyncio.timeout(timeout)
        try:
            async with deadline:
                user_text = assemble_prompt(prompt, scope)
                conversation = Conversation(self, step_id, options, model, meter, spool, user_text)
                reply = await (turn_loop or Conversation.run)(conversation)
                stop_reason = reply.stop_reason
        except StopRequested as stop:
            status, reason = "interrupted", stop.reason
        except Stalled as stall:
            status, reason = "interrupted", stall.message
        except TimeoutError:
            if not deadline.expired():
                raise
            status, reason = "interrupted", f"timeout: step ran longer than {timeout:g} s"
        except asyncio.CancelledError:
            status, reason = "interrupted", self._interrupt_reasons.get(step_id, "cancelled")
            current = asyncio.current_task()
            if step_id not in self._interrupt_reasons or current is None:
                raise
            current.uncancel()
        except AttemptFailed as failure:
            status, reason, error = "failed", failure.failure, failure.message
        except PromptError as exc:
            status, reason, error = "failed", "prompt", str(exc)
        except Exception as exc:
            # One step crashing must not take the run or its record down with it.
            status, reason, error = "failed", "crash", f"{type(exc).__name__}: {exc}"
        finally:
            meter.abandon_call()
            meter.finished_at = time.monotonic()
            if status == "interrupted":
                self.publish(Interrupted(step_id, reason))
            metrics = meter.metrics()
            self.publish(StepFinished(step_id, status, reason, stop_reason, error, metrics))  # type: ignore[arg-type]
            await asyncio.gather(*(pump.stop() for pump in pumps))
            span.set_attribute("status", status)
            span.end()
        data = conversation.data if conversation is not None else None
        if conversation is not None and conversation.result_text is not None:
            # The step's answer is not all it streamed (e.g. an extraction that was re-asked).
            spool.close()
            spool = TextSpool(self.run_dir / "spool")
            spool.append(conversation.result_text)
        return StepResult(step_id, status, reason, stop_reason, error, metrics, data, spool)

    def _start_handlers(self, options: Any, context: StepContext) -> list[HandlerPump]:
        names = getattr(options, "stream_handler", ("console",)) or ()
        if isinstance(names, str):
            names = (names,)
        pumps = []
        for name in names:
            handler_opts = options.handler_opts(name) if hasattr(options, "handler_opts") else {}
            handler = build_handler(name, context, dict(handler_opts), self.env)
            if handler is None:
                continue
            pump = HandlerPump(
                handler,
                getattr(options, "stream_buffer_size", 1) or 1,
                getattr(options, "stream_flush_interval_ms", 100) or 0,
            )
            pump.start(self.bus, context.step_id)
            pumps.append(pump)
        return pumps


class Conversation:
    """One step's conversation with Claude: messages, the retry policy and the streaming state."""

    def __init__(
        self,
        runner: Runner,
        step_id: str,
        options: Any,
        model: str,
        meter: StepMeter,
        spool: TextSpool,
        user_text: str,
    ) -> None:
        self.runner = runner
        self.step_id = step_id
        self.options = options
        self.model = model
        self.meter = meter
        self.spool = spool
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": user_text}]
        self.policy = RetryPolicy.from_config(getattr(options, "retry_config", None))
        self.turn = 0
        # Step types that need the answer's text in memory (sessions, extraction) set this.
        self.keep_text = False
        self.data: Any = None  # the step's structured result, if its type makes one
        self.result_text: str | None = None  # the step's answer, when it differs from what streamed
        self.system_suffix = ""  # instructions a step type adds to the system prompt

    def request(self, **extra: Any) -> dict[str, Any]:
        options = self.options
        request: dict[str, Any] = {
            "model": self.model,
            "max_tokens": getattr(options, "max_tokens", None) or DEFAULT_MAX_TOKENS,
            "messages": self.messages,
        }
        system = "\n\n".join(
            part
            for part in (
                getattr(options, "system_prompt", None),
                getattr(options, "append_system_prompt", None),
                self.system_suffix,
            )
            if part
        )
        if system:
            request["system"] = system
        thinking = getattr(options, "thinking", None)
        if thinking:
            request["thinking"] = {"type": "enabled", "budget_tokens": int(thinking)}
            request["max_tokens"] = max(request["max_tokens"], int(thinking) + 1024)
        request.update(extra)
        return request

    async def run(self) -> ModelReply:
        """Model turn -> tool calls -> results -> next turn, until the model is done or `max_turns`."""
        tools = self.toolbox()
        if tools is None:
            return self._answered(await self.model_turn(self.request()))
        max_turns = getattr(self.options, "max_turns", None) or DEFAULT_MAX_TURNS
        definitions = tools.definitions()
        while True:
            reply = await self.model_turn(self.request(tools=definitions))
            if reply.stop_reason != "tool_use" or not reply.tool_calls:
                return self._answered(reply)
            self.messages.append({"role": "assistant", "content": reply.content})
            self.messages.append({"role": "user", "content": await self.run_tools(tools, reply)})
            if self.turn >= max_turns:
                return ModelReply("max_turns", reply.model, reply.content, reply.tool_calls)

    def _answered(self, reply: ModelReply) -> ModelReply:
        """Keep the final answer in the conversation when someone will send it back later."""
        if self.keep_text and reply.content:
            self.messages.append({"role": "assistant", "content": reply.content})
        return reply

    @staticmethod
    def answer_text(reply: ModelReply) -> str:
        return "".join(block.get("text", "") for block in reply.content if block.get("type") == "text")

    def toolbox(self) -> ToolBox | None:
        allowed = tuple(getattr(self.options, "allowed_tools", ()) or ())
        if not allowed:
            return None
        from engine.tools import ToolBox  # only steps that use tools need them

        disallowed = tuple(getattr(self.options, "disallowed_tools", ()) or ())
        box = ToolBox(self.runner.workspace, allowed, disallowed)
        return box if box.names else None

    async def run_tools(self, tools: ToolBox, reply: ModelReply) -> list[dict[str, Any]]:
        """Run the turn's tool calls in order; every outcome, refused or failed too, goes back to Claude."""
        runner, step_id = self.runner, self.step_id
        results = []
        for call in reply.tool_calls:
            self.meter.tool_calls += 1
            runner.publish(StepPhase(step_id, "tool", call.name))
            outcome = await tools.run(call.name, call.input)
            self.meter.touch()
            runner.publish(
                ToolResult(
                    step_id, call.tool_use_id, call.name, outcome.output, outcome.is_error, outcome.refused
                )
            )
            results.append(
                {
                    "type": "tool_result",
                    "tool_use_id": call.tool_use_id,
                    "content": outcome.output,
                    "is_error": outcome.is_error,
                }
            )
        return results

    async def model_turn(self, request: dict[str, Any]) -> ModelReply:
        """One model turn with retries, then `fallback_model`; a retried attempt's text is dropped."""
        runner, step_id, meter, policy = self.runner, self.step_id, self.meter, self.policy
        self.turn += 1
        runner.publish(TurnStarted(step_id, self.turn))
        self.spool.mark()
        idle = getattr(self.options, "idle_timeout_seconds", None)
        streaming = getattr(self.options, "async_streaming", True)
        fallback = getattr(self.options, "fallback_model", None)
        if fallback == request["model"]:
            fallback = None
        total = (policy.max_retries + 1) * (2 if fallback else 1)
        attempt = tries = 1  # all attempts of this turn / attempts with the current model
        while True:
            try:
                with tracer.start_as_current_span(
                    "pipeline.model_call", attributes={"model": request["model"], "attempt": attempt}
                ):
                    return await self._attempt(request, idle, streaming, "\n\n" if self.turn > 1 else "")
            except AttemptFailed as failure:
                meter.abandon_call()
                why = f"{failure.failure}: {failure.message}"
                if policy.should_retry(failure, tries):
                    delay = policy.delay_s(tries, failure.retry_after)
                    tries += 1
                elif fallback:
                    why += f"; falling back to {fallback}"
                    request = {**request, "model": fallback}
                    self.model, fallback, tries, delay = request["model"], None, 1, 0.0
                else:
                    raise
                attempt += 1
                meter.retries += 1
                self.spool.rewind()
                runner.publish(Retrying(step_id, attempt, total, delay, why))
                runner.publish(
                    StepPhase(step_id, "backing_off", f"retry in {delay:.1f} s, attempt {attempt}/{total}")
                )
                await asyncio.sleep(delay)

    async def _attempt(
        self, request: dict[str, Any], idle: float | None, streaming: bool, separator: str
    ) -> ModelReply:
        meter = self.meter
        meter.touch()
        call = functools.partial(
            call_model,
            self.runner.client,
            request,
            step_id=self.step_id,
            publish=self.runner.publish,
            spool=self.spool,
            meter=meter,
            streaming=streaming,
            keep_text=self.keep_text or bool(request.get("tools")),
            separator=separator,
        )
        if not idle:
            return await call()
        # The idle watchdog checks a timestamp the stream loop refreshes, so per-token work stays O(1).
        loop = asyncio.get_running_loop()
        watch = asyncio.timeout(None)

        def check() -> None:
            if loop.time() - meter.last_activity >= idle:
                watch.reschedule(loop.time())
            else:
                handle[0] = loop.call_at(meter.last_activity + idle + 0.01, check)

        handle = [loop.call_later(idle, check)]
        try:
            async with watch:
                return await call()
        except TimeoutError as exc:
            if not watch.expired():
                raise
            raise Stalled("timeout", f"idle: no token for {idle:g} s") from exc
        finally:
            handle[0].cancel()
