"""The `claude_code` executor: a step's conversation run by the Claude Code agent (claude-agent-sdk)
instead of the engine's own tool loop, its token stream turned into the same events.

With `include_partial_messages` the agent forwards every raw Messages-API stream event; they become
TextDelta, ThinkingDelta, ToolCall and Usage events as `engine.claude` makes them, so handlers,
`stop_on`, the budget, the run record and the dashboard work unchanged. Tool results come from the
agent's user messages; tokens and cost are set from its ResultMessage at the end. A step that is
stopped (stop key, `stop_on`, timeouts, Ctrl+C) asks the agent to `interrupt()`, then closes its input;
a CLI still running INTERRUPT_GRACE_S after each is killed. The text streamed so far is kept.

claude-agent-sdk is an optional extra (`pipeline[claude-code]`), imported only when a step uses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections import deque
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from engine.claude import ModelReply
from engine.events import (
    Retrying,
    StepPhase,
    TextDelta,
    ThinkingDelta,
    ToolCall,
    ToolResult,
    TurnStarted,
    Usage,
)
from engine.handlers.callback import import_callable
from engine.meter import IdleTimeout, StopRequested, idle_watch
from engine.pricing import cost_usd
from engine.retry import AttemptFailed
from engine.telemetry import tracer
from engine.workflow.model import ClaudeOptions

if TYPE_CHECKING:
    from engine.conversation import Conversation

INSTALL_HINT = "executor claude_code needs the Claude Code extra: pip install 'pipeline[claude-code]'"
# How long the agent gets to stop after `interrupt()`, and then to exit, before its process is ended.
INTERRUPT_GRACE_S = 1.0
# Nothing but the model calls leaves the machine: no telemetry, error reports, update checks.
QUIET_ENV = {
    "DISABLE_TELEMETRY": "1",
    "DISABLE_ERROR_REPORTING": "1",
    "DISABLE_AUTOUPDATER": "1",
    "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
}
PERMISSION_MODES = {"accept_edits": "acceptEdits", "bypass_permissions": "bypassPermissions"}
STDERR_LINES_KEPT = 20
# ResultMessage.api_error_status -> our failure classes (engine.retry).
STATUS_FAILURES = {401: "fatal", 403: "fatal", 429: "rate_limit", 529: "overloaded"}


def _sdk() -> Any:
    try:
        import claude_agent_sdk
    except ImportError as exc:
        raise AttemptFailed("fatal", INSTALL_HINT) from exc
    return claude_agent_sdk


async def run_agent(conversation: Conversation) -> ModelReply:
    """The conversation's last user message, answered by Claude Code; streams as the API loop does."""
    sdk = _sdk()
    run, step_id = conversation.run_env, conversation.step_id
    stderr: deque[str] = deque(maxlen=STDERR_LINES_KEPT)
    options = agent_options(conversation, sdk, stderr.append)
    stream = AgentStream(conversation)
    client = sdk.ClaudeSDKClient(options)
    run.publish(StepPhase(step_id, "connecting", "Claude Code"))
    finished = False
    # The SDK hands the current span to the CLI (W3C trace context), so its own spans nest under this one.
    span = tracer.start_as_current_span("pipeline.agent_run", attributes={"model": options.model})
    try:
        with span:
            await client.connect()
            await client.query(conversation.messages[-1]["content"])
            idle = conversation.options.idle_timeout_seconds
            async with (
                idle_watch(conversation.meter, idle),
                contextlib.aclosing(client.receive_response()) as messages,
            ):
                async for message in messages:
                    stream.on_message(message, sdk)
        finished = True
    except IdleTimeout as exc:
        raise StopRequested(str(exc)) from exc  # stopped, not retried: the agent retries its own calls
    except (StopRequested, AttemptFailed):
        raise
    except sdk.ClaudeSDKError as exc:
        detail = f"; stderr: {' | '.join(stderr)}" if stderr else ""
        raise AttemptFailed("fatal", f"Claude Code: {exc}{detail}") from exc
    finally:
        await _close(client, interrupted=not finished)
    return stream.reply()


def agent_options(conversation: Conversation, sdk: Any, on_stderr: Callable[[str], None]) -> Any:
    """ClaudeOptions mapped one to one onto ClaudeAgentOptions; cwd confined to the workspace."""
    o: ClaudeOptions = conversation.options
    run = conversation.run_env
    cwd = _working_dir(run.workspace, o.cwd)
    python_hooks, settings = _hooks(o, sdk)
    fallback = o.fallback_model if o.fallback_model != o.model else None
    return sdk.ClaudeAgentOptions(
        model=o.model,
        fallback_model=fallback,
        system_prompt=_system_prompt(o, conversation.system_suffix),
        # The tools of the MCP servers the step configures are its to use, as the tools it names.
        allowed_tools=[*o.allowed_tools, *(f"mcp__{name}" for name in o.mcp_servers or ())],
        disallowed_tools=list(o.disallowed_tools),
        max_turns=o.max_turns,
        max_budget_usd=o.max_budget_usd,
        permission_mode=PERMISSION_MODES.get(o.permission_mode or "", o.permission_mode),
        permission_prompt_tool_name=o.permission_prompt_tool,
        cwd=str(cwd),
        mcp_servers=o.mcp_servers if o.mcp_servers is not None else (o.mcp_config or {}),
        agents=_agents(o, sdk),
        hooks=python_hooks,
        settings=settings,
        setting_sources=list(o.setting_sources) if o.setting_sources is not None else None,
        # As for the API executor: extended thinking only with a `thinking` budget.
        thinking={"type": "enabled", "budget_tokens": o.thinking} if o.thinking else {"type": "disabled"},
        resume=conversation.agent_session,
        include_partial_messages=True,
        env=_agent_env(conversation),
        stderr=on_stderr,
    )


def _working_dir(workspace: Path, cwd: str | None) -> Path:
    """`cwd` inside the workspace (symlinks resolved), created if need be; refused when it leaves it."""
    base = workspace.resolve()
    target = (base / (cwd or ".")).resolve()
    if target != base and base not in target.parents:
        raise AttemptFailed("fatal", f"cwd {cwd!r} leaves the workspace {workspace}")
    target.mkdir(parents=True, exist_ok=True)
    return target


def _system_prompt(o: ClaudeOptions, suffix: str) -> Any:
    """Our system_prompt replaces Claude Code's; append_system_prompt (and a step type's suffix) is
    appended to whichever prompt is used."""
    append = "\n\n".join(part for part in (o.append_system_prompt, suffix) if part)
    if o.system_prompt:
        return "\n\n".join(part for part in (o.system_prompt, append) if part)
    if append:
        return {"type": "preset", "preset": "claude_code", "append": append}
    return None


def _agent_env(conversation: Conversation) -> dict[str, str]:
    """The agent talks to the provider this run uses (the API, or the simulator) with the same key."""
    client = conversation.run_env.client
    env = {"ANTHROPIC_BASE_URL": str(client.base_url).rstrip("/"), **QUIET_ENV}
    if client.api_key:
        env["ANTHROPIC_API_KEY"] = client.api_key
    # The agent retries failed calls itself, as often as the step's retry_config says.
    env["CLAUDE_CODE_MAX_RETRIES"] = str(conversation.policy.max_retries)
    if "max_tokens" in conversation.options.model_fields_set:
        env["CLAUDE_CODE_MAX_OUTPUT_TOKENS"] = str(conversation.options.max_tokens)
    return env


def _agents(o: ClaudeOptions, sdk: Any) -> dict[str, Any] | None:
    if not o.agents:
        return None
    return {
        name: sdk.AgentDefinition(
            description=agent.description,
            prompt=agent.prompt,
            tools=list(agent.tools) if agent.tools is not None else None,
            model=agent.model,
        )
        for name, agent in o.agents.items()
    }


def _hooks(o: ClaudeOptions, sdk: Any) -> tuple[dict[str, list[Any]] | None, str | None]:
    """Python hooks as the SDK's HookMatchers; shell-command hooks as Claude Code settings (JSON)."""
    if not o.hooks:
        return None, None
    python: dict[str, list[Any]] = {}
    commands: dict[str, list[dict[str, Any]]] = {}
    for event, hooks in o.hooks.items():
        for hook in hooks:
            if hook.callback:
                try:
                    function = import_callable(hook.callback)
                except ValueError as exc:
                    raise AttemptFailed("fatal", f"hook {event}: {exc}") from exc
                python.setdefault(event, []).append(
                    sdk.HookMatcher(matcher=hook.matcher, hooks=[function], timeout=hook.timeout)
                )
            given = [(hook.command, hook.timeout)] if hook.command else []
            given += [(command.command, command.timeout) for command in hook.hooks]
            if given:
                entries = [
                    {"type": "command", "command": command, **({"timeout": timeout} if timeout else {})}
                    for command, timeout in given
                ]
                commands.setdefault(event, []).append({"matcher": hook.matcher or "", "hooks": entries})
    settings = json.dumps({"hooks": commands}) if commands else None
    return python or None, settings


class AgentStream:
    """Turns the agent's messages into engine events, with the same per-delta work as engine.claude."""

    def __init__(self, conversation: Conversation) -> None:
        self.conversation = conversation
        self.step_id = conversation.step_id
        self.publish = conversation.run_env.publish
        self.meter = conversation.meter
        self.spool = conversation.spool
        self.model = conversation.options.model
        self.stop_reason: str | None = None
        self.answer: list[str] = []  # the text of the latest model turn: the final answer at the end
        self.separator = ""
        self.tool: dict[str, Any] | None = None  # the tool_use block being streamed
        self.json_parts: list[str] = []
        self.tool_names: dict[str, str] = {}
        self.denied: set[str] = set()
        self.retrying = False
        self.in_call = False  # a model call is streaming (a retry then drops its text)

    def on_message(self, message: Any, sdk: Any) -> None:
        if isinstance(message, sdk.StreamEvent):
            if message.parent_tool_use_id is None:  # a subagent's stream is its own, not the step's
                self.on_event(message.event)
        elif isinstance(message, sdk.UserMessage):
            if message.parent_tool_use_id is None and isinstance(message.content, list):
                for block in message.content:
                    if isinstance(block, sdk.ToolResultBlock):
                        self.on_tool_result(block)
        elif isinstance(message, sdk.SystemMessage):
            if message.subtype == "init":
                self.conversation.agent_session = message.data.get("session_id")
            elif message.subtype == "permission_denied":
                self.denied.add(str(message.data.get("tool_use_id")))
            elif message.subtype == "api_retry":
                self.on_retry(message.data)
        elif isinstance(message, sdk.ResultMessage):
            self.on_result(message)

    def on_event(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        publish, step_id, meter = self.publish, self.step_id, self.meter
        if kind == "content_block_delta":
            delta = event["delta"]
            dtype = delta.get("type")
            if dtype == "text_delta":
                text = delta["text"]
                publish(TextDelta(step_id, text))
                self.spool.append(text)
                self.answer.append(text)
                meter.on_text(text)
            elif dtype == "input_json_delta":
                self.json_parts.append(delta["partial_json"])
                meter.touch()
            elif dtype == "thinking_delta":
                publish(ThinkingDelta(step_id, delta["thinking"]))
                meter.touch()
        elif kind == "content_block_start":
            block = event["content_block"]
            btype = block.get("type")
            if btype == "text":
                publish(StepPhase(step_id, "streaming"))
                if self.separator and self.spool.chars:
                    # Text of a later turn starts on a fresh paragraph, in the result and every handler.
                    publish(TextDelta(step_id, self.separator))
                    self.spool.append(self.separator)
                self.separator = ""
            elif btype == "thinking":
                publish(StepPhase(step_id, "thinking"))
            elif btype == "tool_use":
                self.tool = {"id": block["id"], "name": block["name"]}
                self.json_parts.clear()
                publish(StepPhase(step_id, "tool_input", block["name"]))
        elif kind == "content_block_stop":
            if self.tool is not None:
                self.on_tool_call(self.tool)
                self.tool = None
        elif kind == "message_start":
            self.on_turn(event["message"])
        elif kind == "message_stop":
            self.in_call = False
        elif kind == "message_delta":
            self.stop_reason = event.get("delta", {}).get("stop_reason")
            publish(meter.end_call(self.usage(event.get("usage") or {}, meter.call_start_usage)))

    def begin_turn(self) -> None:
        conversation = self.conversation
        conversation.turn += 1
        self.publish(TurnStarted(self.step_id, conversation.turn))
        self.spool.mark()

    def on_turn(self, message: dict[str, Any]) -> None:
        if not self.retrying:  # a retried attempt is the same turn
            self.begin_turn()
        self.retrying = False
        self.in_call = True
        self.model = message.get("model") or self.model
        self.answer.clear()
        self.separator = "\n\n" if self.conversation.turn > 1 else ""
        start = self.usage(message.get("usage") or {})
        self.meter.begin_call(self.model, start)
        self.publish(start)

    def on_retry(self, data: dict[str, Any]) -> None:
        """The agent retries a failed model call: as for the API executor, the attempt's text is dropped
        (subscribers drop it on `Retrying`) and what it cost so far is counted."""
        meter = self.meter
        meter.abandon_call()
        meter.retries += 1
        if self.in_call:
            self.spool.rewind()
        else:  # it failed before streaming: its turn begins here, as in the API loop
            self.begin_turn()
        self.in_call = False
        self.answer.clear()
        self.retrying = True
        attempt, total = int(data.get("attempt") or 1) + 1, int(data.get("max_retries") or 0) + 1
        delay = float(data.get("retry_delay_ms") or 0) / 1000
        why = f"{data.get('error') or 'api_error'} (HTTP {data.get('error_status')})"
        self.publish(Retrying(self.step_id, attempt, total, delay, why))
        detail = f"retry in {delay:.1f} s, attempt {attempt}/{total}"
        self.publish(StepPhase(self.step_id, "backing_off", detail))

    def on_tool_call(self, tool: dict[str, Any]) -> None:
        raw = "".join(self.json_parts)
        try:
            tool_input = json.loads(raw) if raw else {}
        except json.JSONDecodeError:
            tool_input = {"partial_json": raw}
        self.tool_names[tool["id"]] = tool["name"]
        self.meter.tool_calls += 1
        self.publish(ToolCall(self.step_id, tool["id"], tool["name"], tool_input))
        self.publish(StepPhase(self.step_id, "tool", tool["name"]))

    def on_tool_result(self, block: Any) -> None:
        content = block.content
        if isinstance(content, list):
            content = "\n".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        tool_id = block.tool_use_id
        self.meter.touch()
        self.publish(
            ToolResult(
                self.step_id,
                tool_id,
                self.tool_names.get(tool_id, "tool"),
                content or "",
                bool(block.is_error),
                tool_id in self.denied,
            )
        )

    def on_result(self, result: Any) -> None:
        """The agent's own figures replace the ones counted from the stream; its session is kept."""
        meter = self.meter
        self.conversation.agent_session = result.session_id
        meter.call_start_usage = None
        usage = result.usage or {}
        meter.input_tokens = int(usage.get("input_tokens") or meter.input_tokens)
        meter.output_tokens = int(usage.get("output_tokens") or meter.output_tokens)
        if result.total_cost_usd is not None:
            meter.cost_usd = float(result.total_cost_usd)
        if result.subtype == "error_max_turns":
            self.stop_reason = "max_turns"
        elif result.subtype == "error_max_budget_usd":
            raise StopRequested(f"max_budget_usd reached (${meter.cost_usd:.4f} spent)")
        elif result.is_error:
            status = result.api_error_status
            failure = STATUS_FAILURES.get(status, "server_error" if status and status >= 500 else "fatal")
            why = "; ".join(result.errors or ()) or result.result or result.subtype
            raise AttemptFailed(failure, f"Claude Code: {' '.join(str(why).split())}")
        else:
            self.stop_reason = result.stop_reason or self.stop_reason or "end_turn"

    def usage(self, raw: dict[str, Any], start: Usage | None = None) -> Usage:
        """A Usage event; fields that `message_delta` leaves out are taken from `message_start`."""

        def get(name: str) -> int:
            value = raw.get(name)
            if value is None and start is not None:
                value = getattr(start, name)
            return int(value or 0)

        inp, out = get("input_tokens"), get("output_tokens")
        cw, cr = get("cache_creation_input_tokens"), get("cache_read_input_tokens")
        return Usage(self.step_id, self.model, inp, out, cw, cr, cost_usd(self.model, inp, out, cw, cr))

    def reply(self) -> ModelReply:
        text = "".join(self.answer)
        content = [{"type": "text", "text": text}] if text else []
        return ModelReply(self.stop_reason, self.model, content)


async def _close(client: Any, *, interrupted: bool) -> None:
    """End the agent: `interrupt()` first when it is stopped mid-answer, then close its input (it saves
    its session and exits); a CLI still running INTERRUPT_GRACE_S later is killed."""
    # The SDK does not expose the process; its transport holds it (to end a CLI that does not stop).
    process = getattr(getattr(client, "_transport", None), "_process", None)
    end = None
    if interrupted:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(INTERRUPT_GRACE_S):
                await client.interrupt()
        if process is not None:
            end = asyncio.get_running_loop().call_later(INTERRUPT_GRACE_S, _kill, process)
    try:
        with contextlib.suppress(Exception):
            await client.disconnect()
    finally:
        if end is not None:
            end.cancel()


def _kill(process: Any) -> None:
    # It had its grace twice over (the interrupt, then closed input): a CLI still running is stuck.
    if process.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            process.kill()
