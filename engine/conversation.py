"""One streamed conversation with Claude: what every step type runs, once or many times at once.

`run_conversation` runs one as a task the run handle can interrupt: it starts the step's stream
handlers, assembles the prompt, drives the turns (model turn -> tool calls -> results -> next turn)
with retries and `fallback_model`, applies the step's guards (timeout, idle timeout, `stop_on`, the
run budget), and always ends with a `StepFinished` event and a `StepResult`, whatever happened.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
from opentelemetry import context as otel_context
from opentelemetry import trace

from engine.bus import EventBus
from engine.claude import ModelReply, call_model
from engine.control import StepControl, run_as_step
from engine.events import (
    Event,
    Interrupted,
    Retrying,
    StepFinished,
    StepPhase,
    StepStarted,
    ToolResult,
    TurnStarted,
)
from engine.handlers import HandlerContext, HandlerEnvironment, HandlerPump, build_handler
from engine.meter import IdleTimeout, RunBudget, StepMeter, StopRequested, idle_watch
from engine.paths import PathRefused, confined
from engine.results import StepResult, StoppedBy
from engine.retry import AttemptFailed, RetryPolicy
from engine.spool import TextSpool
from engine.telemetry import (
    model_call_span,
    record_outcome,
    record_response,
    step_attributes,
    tool_call_span,
    tracer,
)
from engine.templating import PromptError, Scope, assemble_prompt
from engine.tools import ToolBox, bash_sandbox
from engine.workflow.model import ClaudeOptions, PromptPart
from engine.workflow.presets import resolve_model


class Stalled(AttemptFailed):
    """No token arrived for `idle_timeout_seconds`."""


class HandlerFailed(Exception):
    """A stream handler of the step could not be built."""


@dataclass
class RunEnvironment:
    """What every conversation of one run shares."""

    run_id: str
    run_dir: Path
    workflow_name: str
    workspace: Path
    client: anthropic.AsyncAnthropic
    bus: EventBus
    control: StepControl
    budget: RunBudget
    handlers: HandlerEnvironment = field(default_factory=HandlerEnvironment)
    resumed_from: str | None = None  # the run this one resumes: its sessions are this run's own

    def publish(self, event: Event) -> None:
        self.bus.publish(event)

    @functools.cached_property
    def spool_dir(self) -> Path:
        return self.run_dir / "spool"  # one Path for all: a batch step makes a spool per item

    def new_spool(self) -> TextSpool:
        return TextSpool(self.spool_dir)

    def save_output(self, spool: TextSpool, relative: str) -> str | None:
        """`output_to_file`: the answer (partial ones too) saved inside the run folder; why it could
        not be, if so (the step then fails with it)."""
        try:
            spool.copy_to(confined(self.run_dir, relative, "output_to_file"))
        except PathRefused as exc:
            return str(exc)
        except OSError as exc:
            return f"output_to_file {relative!r}: {exc.strerror or exc}"
        return None


@dataclass(frozen=True)
class Outcome:
    """What a turn loop ends with: the last reply, and the step's result when it is not just the text."""

    reply: ModelReply
    data: Any = None
    text: str | None = None  # the step's answer, when it differs from what streamed (a re-asked extraction)


TurnLoop = Callable[["Conversation"], Awaitable[Outcome]]


async def plain_turns(conversation: Conversation) -> Outcome:
    return Outcome(await conversation.run())


def request_body(
    options: ClaudeOptions, messages: list[dict[str, Any]], model: str | None = None, system_suffix: str = ""
) -> dict[str, Any]:
    """The Messages API request for these options and messages (also one item of a Message Batch)."""
    request: dict[str, Any] = {
        "model": model or resolve_model(options.model),
        "max_tokens": options.max_tokens,
        "messages": messages,
    }
    system = "\n\n".join(
        part for part in (options.system_prompt, options.append_system_prompt, system_suffix) if part
    )
    if system:
        request["system"] = system
    if options.thinking:
        request["thinking"] = {"type": "enabled", "budget_tokens": options.thinking}
        request["max_tokens"] = max(request["max_tokens"], options.thinking + 1024)
    return request


class Conversation:
    """One step's conversation: its messages, the retry policy and the streaming state.

    Configured when it is created: `keep_text` when the answer is sent back later (sessions,
    re-asked extractions), `system_suffix` for instructions a step type adds to the system prompt.
    """

    def __init__(
        self,
        run: RunEnvironment,
        step_id: str,
        options: ClaudeOptions,
        meter: StepMeter,
        spool: TextSpool,
        user_text: str,
        *,
        keep_text: bool = False,
        system_suffix: str = "",
    ) -> None:
        self.run_env = run
        self.step_id = step_id
        self.options = options
        self.model = resolve_model(options.model)
        self.meter = meter
        self.spool = spool
        self.keep_text = keep_text
        self.system_suffix = system_suffix
        self.messages: list[dict[str, Any]] = [{"role": "user", "content": user_text}]
        self.policy = RetryPolicy.from_config(options.retry_config)
        self.turn = 0
        self.call_context: Any = None  # the trace context of the last model call, its tool calls' parent
        self.agent_session: str | None = None  # executor claude_code: the session resumed, then the one run

    def continue_from(self, history: Sequence[dict[str, Any]]) -> None:
        """Earlier turns (a stored session) go before this conversation's first message."""
        self.messages[:0] = history

    def ask_again(self, text: str) -> None:
        """A follow-up user message, e.g. the reason an answer was refused."""
        self.messages.append({"role": "user", "content": text})

    def request(self, **extra: Any) -> dict[str, Any]:
        return {**request_body(self.options, self.messages, self.model, self.system_suffix), **extra}

    async def run(self) -> ModelReply:
        """Model turn -> tool calls -> results -> next turn, until the model is done or `max_turns`."""
        if self.options.executor == "claude_code":
            from engine.claude_code import run_agent  # the optional extra's SDK, imported only when used

            return self._answered(await run_agent(self))
        tools = self.toolbox()
        if tools is None:
            return self._answered(await self.model_turn(self.request()))
        definitions = tools.definitions()
        while True:
            reply = await self.model_turn(self.request(tools=definitions))
            if reply.stop_reason != "tool_use" or not reply.tool_calls:
                return self._answered(reply)
            self.messages.append({"role": "assistant", "content": reply.content})
            self.messages.append({"role": "user", "content": await self.run_tools(tools, reply)})
            if self.turn >= self.options.max_turns:
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
        if not self.options.allowed_tools:
            return None
        box = ToolBox(
            self.run_env.workspace,
            self.options.allowed_tools,
            self.options.disallowed_tools,
            bash_sandbox=bash_sandbox(self.options),
        )
        return box if box.names else None

    async def run_tools(self, tools: ToolBox, reply: ModelReply) -> list[dict[str, Any]]:
        """Run the turn's tool calls in order; every outcome, refused or failed too, goes back to Claude."""
        publish, step_id = self.run_env.publish, self.step_id
        results = []
        for call in reply.tool_calls:
            self.meter.tool_calls += 1
            publish(StepPhase(step_id, "tool", call.name))
            with tool_call_span(self.call_context, step_id, call.name, call.tool_use_id) as span:
                outcome = await tools.run(call.name, call.input)
                if outcome.is_error:
                    span.set_attribute("error.type", "refused" if outcome.refused else "tool_error")
            self.meter.touch()
            publish(
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
        publish, step_id, meter, policy = self.run_env.publish, self.step_id, self.meter, self.policy
        self.turn += 1
        publish(TurnStarted(step_id, self.turn))
        self.spool.mark()
        fallback = resolve_model(self.options.fallback_model) if self.options.fallback_model else None
        if fallback == request["model"]:
            fallback = None
        total = (policy.max_retries + 1) * (2 if fallback else 1)
        attempt = tries = 1  # all attempts of this turn / attempts with the current model
        while True:
            try:
                with model_call_span(request, step_id, attempt, self.turn) as span:
                    tokens_in, tokens_out, cost = meter.input_tokens, meter.output_tokens, meter.cost_usd
                    reply = await self._attempt(request, "\n\n" if self.turn > 1 else "")
                    record_response(
                        span,
                        reply.model,
                        reply.stop_reason,
                        meter.input_tokens - tokens_in,
                        meter.output_tokens - tokens_out,
                        meter.cost_usd - cost,
                    )
                    self.call_context = trace.set_span_in_context(span)
                    return reply
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
                publish(Retrying(step_id, attempt, total, delay, why))
                publish(
                    StepPhase(step_id, "backing_off", f"retry in {delay:.1f} s, attempt {attempt}/{total}")
                )
                await asyncio.sleep(delay)

    async def _attempt(self, request: dict[str, Any], separator: str) -> ModelReply:
        meter = self.meter
        meter.touch()
        call = functools.partial(
            call_model,
            self.run_env.client,
            request,
            step_id=self.step_id,
            publish=self.run_env.publish,
            spool=self.spool,
            meter=meter,
            streaming=self.options.async_streaming,
            keep_text=self.keep_text or bool(request.get("tools")),
            separator=separator,
        )
        try:
            async with idle_watch(meter, self.options.idle_timeout_seconds):
                return await call()
        except IdleTimeout as exc:
            raise Stalled("timeout", str(exc)) from exc


@dataclass(frozen=True)
class ConversationPlan:
    """What one conversation is: its step id and type, options, prompt, and how its turns go."""

    step_id: str
    step_type: str
    options: ClaudeOptions
    prompt: Sequence[PromptPart]
    scope: Scope
    parent_id: str | None = None  # the step whose task this conversation is
    turn_loop: TurnLoop = plain_turns
    keep_text: bool = False  # see Conversation
    system_suffix: str = ""
    output_to_file: str | None = None  # saved before the step's end is published


async def run_conversation(run: RunEnvironment, plan: ConversationPlan) -> StepResult:
    """Run one conversation as a task the run handle can interrupt, with handlers and retries."""
    return await run_as_step(run.control, plan.step_id, _converse(run, plan))


async def _converse(run: RunEnvironment, plan: ConversationPlan) -> StepResult:
    step_id, step_type, options = plan.step_id, plan.step_type, plan.options
    meter = StepMeter(options.stop_on, run.budget)
    spool = run.new_spool()
    context = HandlerContext(
        run.run_id, run.run_dir, run.workflow_name, step_id, step_type, parallel=plan.parent_id is not None
    )

    ending = False

    def handler_failed(failure: str) -> None:
        # A handler that cannot do its job (a full disk, a path it may not write) stops its step: the
        # rest of the answer would be paid for and lost. Once the step is ending, it only fails it.
        if not ending:
            run.control.interrupt(step_id, failure, "guard")

    pumps, handler_error = start_handlers(run, options, context, handler_failed)
    run.publish(StepStarted(step_id, step_type, resolve_model(options.model), plan.parent_id))
    status, reason, error, stop_reason = "succeeded", "", None, None
    stopped_by: StoppedBy | None = None
    outcome: Outcome | None = None
    # A task gets a span of its own under its step's; a step's own conversation is in the runner's step span.
    span = tracer.start_span("pipeline.task", attributes=step_attributes(step_id)) if plan.parent_id else None
    span_token = otel_context.attach(trace.set_span_in_context(span)) if span is not None else None
    timeout = options.timeout_seconds
    deadline = asyncio.timeout(timeout)
    try:
        async with deadline:
            if handler_error is not None:
                raise HandlerFailed(handler_error)
            user_text = await assemble_prompt(plan.prompt, plan.scope)
            conversation = Conversation(
                run,
                step_id,
                options,
                meter,
                spool,
                user_text,
                keep_text=plan.keep_text,
                system_suffix=plan.system_suffix,
            )
            outcome = await plan.turn_loop(conversation)
            stop_reason = outcome.reply.stop_reason
    except StopRequested as stop:
        status, reason, stopped_by = "interrupted", stop.reason, "guard"
    except Stalled as stall:
        status, reason, stopped_by = "interrupted", stall.message, "guard"
    except TimeoutError:
        if not deadline.expired():
            raise
        status, reason, stopped_by = "interrupted", f"timeout: step ran longer than {timeout:g} s", "guard"
    except asyncio.CancelledError:
        request = run.control.request(step_id)
        status = "interrupted"
        reason, stopped_by = (request.reason, request.by) if request else ("cancelled", "user")
        current = asyncio.current_task()
        if request is None or current is None:
            raise
        current.uncancel()
    except AttemptFailed as failure:
        status, reason, error = "failed", failure.failure, failure.message
    except PromptError as exc:
        status, reason, error = "failed", "prompt", str(exc)
    except HandlerFailed as exc:
        status, reason, error = "failed", "handler", str(exc)
    except Exception as exc:
        # One step crashing must not take the run or its record down with it.
        status, reason, error = "failed", "crash", f"{type(exc).__name__}: {exc}"
    finally:
        ending = True
        meter.abandon_call()
        meter.finished_at = time.monotonic()
        failure = next((pump.failure for pump in pumps if pump.failure), None)
        if status == "interrupted" and failure is None:
            run.publish(Interrupted(step_id, reason))
        # Handlers deliver and flush everything before the step's end is published, so a handler that
        # fails on its last write still fails the step.
        await asyncio.gather(*(pump.drain() for pump in pumps))
        failure = failure or next((pump.failure for pump in pumps if pump.failure), None)
        if failure is not None and status != "failed":
            status, reason, error, stopped_by = "failed", "handler", failure, None
        if outcome is not None and outcome.text is not None:
            # The step's answer is not all it streamed (an extraction that was re-asked).
            spool.close()
            spool = run.new_spool()
            spool.append(outcome.text)
        if plan.output_to_file:
            problem = run.save_output(spool, plan.output_to_file)
            if problem is not None and status != "failed":
                status, reason, error, stopped_by = "failed", "output", problem, None
        metrics = meter.metrics()
        finished = StepFinished(step_id, status, reason, stop_reason, error, metrics)  # type: ignore[arg-type]
        run.publish(finished)
        await asyncio.gather(*(pump.close(finished) for pump in pumps))
        if span is not None and span_token is not None:
            record_outcome(span, status, reason, metrics)
            otel_context.detach(span_token)
            span.end()
    data = outcome.data if outcome is not None else None
    return StepResult(step_id, status, reason, stop_reason, error, metrics, data, spool, stopped_by)


def start_handlers(
    run: RunEnvironment, options: ClaudeOptions, context: HandlerContext, on_failure: Callable[[str], None]
) -> tuple[list[HandlerPump], str | None]:
    """The step's handlers, subscribed; and why one could not be built (the step then fails with it)."""
    pumps = []
    for name in options.stream_handler:
        try:
            handler = build_handler(name, context, options.handler_opts(name), run.handlers)
        except Exception as exc:
            return pumps, f"stream handler {name} cannot start: {exc}"
        if handler is None:
            continue
        pump = HandlerPump(handler, options.stream_buffer_size, options.stream_flush_interval_ms)
        pump.on_failure = on_failure
        pump.start(run.bus, context.step_id)
        pumps.append(pump)
    return pumps, None
