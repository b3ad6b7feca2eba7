"""The typed, immutable model of a workflow file (SPEC sections 3 and 4): the one validator.

`load_workflow` builds these from YAML; the JSON Schema for editors is generated from them too. Step
types and stream handlers are looked up in `engine.workflow.registry` when a file is validated (and
when the schema is written), so one registered later validates like a built-in one.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    GetCoreSchemaHandler,
    GetJsonSchemaHandler,
    Strict,
    create_model,
)
from pydantic.json_schema import JsonSchemaValue, SkipJsonSchema
from pydantic_core import PydanticCustomError, core_schema

from engine.workflow import rules
from engine.workflow.presets import DEFAULT_MODEL, PresetName
from engine.workflow.registry import (
    HANDLERS,
    STEP_TYPES,
    HandlerType,
    StepType,
    register_handler,
    register_step_type,
)

ToolName = Literal["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"]
# The failure classes engine/retry.py sorts a failed call into: the one list of them.
RetryReason = Literal[
    "rate_limit", "overloaded", "server_error", "timeout", "connection", "incomplete_stream"
]
RETRY_REASONS: tuple[str, ...] = get_args(RetryReason)
Backoff = Literal["exponential", "linear", "fixed"]
SandboxMode = Literal["on", "off"]
Executor = Literal["api", "claude_code"]
# Claude Code's permission modes, and pipeline_ex's snake_case spellings of them.
PermissionMode = Literal[
    "default", "acceptEdits", "bypassPermissions", "plan", "dontAsk", "accept_edits", "bypass_permissions"
]
SettingSource = Literal["user", "project", "local"]
HookEvent = Literal[
    "PreToolUse", "PostToolUse", "UserPromptSubmit", "Stop", "SubagentStop", "PreCompact", "Notification"
]

# Strict scalars: YAML's `true` is not 1 and `"5"` is not 5 (pydantic's lax mode would coerce both);
# a whole number is still a fine float. Floats must be finite: `.nan` and `.inf` are YAML too.
Int = Annotated[int, Strict()]
Float = Annotated[float, Strict(), Field(allow_inf_nan=False)]
Bool = Annotated[bool, Strict()]

# Upper bounds, so no value validate accepts can overflow a sleep, a semaphore or the API.
MAX_OUTPUT_TOKENS = 128_000  # the largest output any current Claude model allows
MAX_DELAY_MS = 5 * 60 * 1000  # five minutes: no retry or flush waits longer (engine/retry.py caps at it)
MAX_SECONDS = 7 * 24 * 3600.0  # a week: the longest timeout worth writing down
MAX_COUNT = 1_000_000  # turns, tasks at once, chunks per batch, kept turns: a million is never meant
MAX_BYTES = 1 << 40  # a terabyte
MAX_BUDGET_USD = 1_000_000.0


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


Name = Annotated[str, AfterValidator(rules.name)]
CallableRef = Annotated[str, AfterValidator(rules.callable_ref)]


def _quoted(names: Iterable[str]) -> str:
    """`'a', 'b' or 'c'`: how pydantic lists a Literal's values (report.py turns it into a message)."""
    items = [f"'{name}'" for name in names]
    return ", ".join(items[:-1]) + " or " + items[-1] if len(items) > 1 else "".join(items)


class RegisteredName:
    """A name that must be registered in `registry` when the file is validated; the JSON Schema lists
    the names registered when it is written. Errors read like a Literal's, did-you-mean included."""

    def __init__(self, registry: dict[str, Any]) -> None:
        self.registry = registry

    def _check(self, value: str) -> str:
        if value not in self.registry:
            raise PydanticCustomError(
                "literal_error", "Input should be {expected}", {"expected": _quoted(self.registry)}
            )
        return value

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_after_validator_function(self._check, handler(str))

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        return {"type": "string", "enum": list(self.registry)}


HandlerName = Annotated[str, RegisteredName(HANDLERS)]


def one_or_many(item: Any) -> BeforeValidator:
    """Accepts one `item` where a list of them is expected."""
    return BeforeValidator(rules.one_or_many, json_schema_input_type=item | list[item])


class RetryConfig(FrozenModel):
    """How a failed call (also one that fails mid-stream) is retried before it counts as failed."""

    max_retries: Int = Field(3, ge=0, le=100, description="Retries after the first attempt.")
    backoff: Backoff = Field("exponential", description="How the delay grows between attempts.")
    base_delay_ms: Int = Field(
        1000, ge=0, le=MAX_DELAY_MS, description="Delay before the first retry, in ms (at most 5 minutes)."
    )
    max_delay_ms: Annotated[Int, AfterValidator(rules.max_not_below_base)] = Field(
        30000,
        ge=0,
        le=MAX_DELAY_MS,
        description="Upper bound of any delay, a server's retry-after included, in ms (at most 5 minutes).",
    )
    jitter: Bool = Field(True, description="Randomise delays so parallel retries do not align.")
    retry_on: tuple[RetryReason, ...] = Field(RETRY_REASONS, description="Failures that are retried.")


class ConsoleHandlerOptions(FrozenModel):
    """Options of the `console` stream handler."""

    show_tools: Bool = Field(True, description="Print tool calls and their results as they happen.")
    show_stats: Bool = Field(False, description="Print tokens, speed and cost when the step ends.")
    color: Bool | None = Field(
        None, description="Colour [step] prefixes and thinking; unset = when the terminal can."
    )


class FileHandlerOptions(FrozenModel):
    """Options of the `file` stream handler."""

    path: str | None = Field(
        None, description="File to write; default <run folder>/streams/<step>[.<task>].txt."
    )
    format: Literal["text", "jsonl"] = Field("text", description="text, or one JSON event per line.")
    append: Bool = Field(False, description="Keep what the file already holds instead of starting afresh.")
    max_bytes: Int | None = Field(
        None, ge=1, le=MAX_BYTES, description="Rotate the file when it grows past this size."
    )
    backups: Int = Field(3, ge=0, le=MAX_COUNT, description="Rotated files kept.")


class BufferHandlerOptions(FrozenModel):
    """Options of the `buffer` stream handler."""

    max_bytes: Int = Field(
        16 * 1024 * 1024, ge=1, le=MAX_BYTES, description="Keep at most this many bytes in memory."
    )


class CallbackHandlerOptions(FrozenModel):
    """Options of the `callback` stream handler."""

    callback: CallableRef | None = Field(
        None, description="'package.module:function' called with each flushed batch (sync or async)."
    )
    on_complete: CallableRef | None = Field(
        None, description="'package.module:function' called once when the step ends."
    )
    on_reset: CallableRef | None = Field(
        None,
        description="'package.module:function' called when a retried attempt throws its text away, with "
        "a notice whose discard_chars says how many of the characters received last to drop.",
    )


for _handler in (
    HandlerType("console", ConsoleHandlerOptions, "engine.handlers.console:ConsoleHandler"),
    HandlerType("file", FileHandlerOptions, "engine.handlers.file:FileHandler"),
    HandlerType("buffer", BufferHandlerOptions, "engine.handlers.buffer:BufferHandler"),
    HandlerType("callback", CallbackHandlerOptions, "engine.handlers.callback:CallbackHandler"),
):
    register_handler(_handler)


def handler_option_keys() -> dict[str, tuple[str, ...]]:
    """The option names of each registered stream handler."""
    return {name: tuple(handler.options.model_fields) for name, handler in HANDLERS.items()}


def is_keyed_by_handler(options: dict[str, Any]) -> bool:
    """`{file: {...}}` rather than `{path: ...}`; `callback` is both a handler and an option name, so
    `{callback: "mod:fn"}` is flat."""
    return all(key in HANDLERS and isinstance(value, dict | None) for key, value in options.items())


def keyed_handler_options(value: Any) -> Any:
    """Flat options (`{path: x}`) become keyed ones (`{file: {path: x}}`); keyed ones pass through."""
    if not isinstance(value, dict) or all(
        key in HANDLERS and isinstance(option, dict | BaseModel) for key, option in value.items()
    ):
        return value
    keyed: dict[str, dict[str, Any]] = {}
    for key, option in value.items():
        for handler, keys in handler_option_keys().items():
            if key in keys:
                keyed.setdefault(handler, {})[key] = option
    return keyed


@functools.cache
def _handler_options_models(handlers: tuple[HandlerType, ...]) -> tuple[type[BaseModel], type[BaseModel]]:
    """For these registered handlers: the options keyed by handler name, and the flat form (every
    handler's options side by side), the second for the JSON Schema only."""
    keyed = create_model(
        "StreamHandlerOptions",
        __base__=FrozenModel,
        __doc__="Options per stream handler, keyed by handler name.",
        **{handler.name: (handler.options | None, None) for handler in handlers},  # type: ignore[call-overload]
    )
    flat = create_model(
        "FlatStreamHandlerOptions",
        __base__=tuple(dict.fromkeys(handler.options for handler in handlers)),
        __doc__="Options given without handler names: each applies to every handler that knows it.",
    )
    return keyed, flat


class RegisteredHandlerOptions:
    """`stream_handler_opts`: each registered handler's options, validated by its options model, as
    `{handler name: options}` (only the handlers given). Flat options reach every handler knowing them."""

    @staticmethod
    def _validate(value: Any) -> dict[str, BaseModel]:
        keyed, _ = _handler_options_models(tuple(HANDLERS.values()))
        given = keyed.model_validate(keyed_handler_options(value))
        return {
            name: getattr(given, name) for name in given.model_fields_set if getattr(given, name) is not None
        }

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        keyed, flat = _handler_options_models(tuple(HANDLERS.values()))
        return {"anyOf": [handler(keyed.__pydantic_core_schema__), handler(flat.__pydantic_core_schema__)]}


class AgentOptions(FrozenModel):
    """A Claude Code subagent (executor: claude_code), invoked by the agent through its Agent tool."""

    description: str = Field(description="When the agent should be used.")
    prompt: str = Field(description="The subagent's system prompt.")
    tools: tuple[str, ...] | None = Field(None, description="Tools it may use; unset = all the step's.")
    model: str | None = Field(None, description="sonnet, opus, haiku, inherit or a model id.")


class HookCommand(FrozenModel):
    """A hook command in Claude Code's settings form: `{type: command, command: "..."}`."""

    type: Literal["command"] = "command"
    command: str = Field(description="Shell command Claude Code runs (gets the event as JSON).")
    timeout: Float | None = Field(None, gt=0, le=MAX_SECONDS, description="Seconds it may take.")


class HookOptions(FrozenModel):
    """One Claude Code hook (executor: claude_code): a shell command or a Python function, or Claude Code's
    settings form (`hooks: [{type: command, command: ...}]`)."""

    matcher: str | None = Field(None, description="Tool names it applies to, e.g. 'Write|Edit'; unset = all.")
    command: str | None = Field(None, description="Shell command Claude Code runs (gets the event as JSON).")
    hooks: tuple[HookCommand, ...] = Field((), description="Commands, as in Claude Code's settings.")
    callback: CallableRef | None = Field(
        None, description="'package.module:function', an async hook called as (input, tool_use_id, context)."
    )
    timeout: Float | None = Field(None, gt=0, le=MAX_SECONDS, description="Seconds the hook may take.")


class ClaudeOptions(FrozenModel):
    """How a step talks to Claude: model, limits, tools, retries and streaming."""

    executor: Executor = Field(
        "api",
        description="api: the engine's own tool loop over the Messages API; claude_code: the Claude Code "
        "agent (pip install 'pipeline[claude-code]').",
    )
    model: str = Field(DEFAULT_MODEL, description="Claude model id.")
    max_tokens: Int = Field(
        4096, ge=1, le=MAX_OUTPUT_TOKENS, description="Output tokens per model turn (at most 128000)."
    )
    system_prompt: str | None = Field(None, description="Replaces the default system prompt.")
    append_system_prompt: str | None = Field(None, description="Appended to the system prompt.")
    max_turns: Int = Field(
        10, ge=1, le=MAX_COUNT, description="Model turns in the tool loop (model -> tools -> model)."
    )
    allowed_tools: Annotated[tuple[ToolName, ...], one_or_many(ToolName)] = Field(
        (), description="Tools Claude may call, confined to workspace_dir."
    )
    disallowed_tools: Annotated[tuple[ToolName, ...], one_or_many(ToolName)] = Field(
        (), description="Tools removed from allowed_tools."
    )
    sandbox: Annotated[
        SandboxMode, BeforeValidator(rules.on_off, json_schema_input_type=SandboxMode | bool)
    ] = Field(
        "on",
        description="on: Bash runs in a bubblewrap sandbox (the workspace the only writable path); "
        "off: Bash runs unconfined.",
    )
    sandbox_network: Bool = Field(False, description="Let sandboxed Bash commands use the network.")
    thinking: Int | None = Field(
        None, ge=1024, le=MAX_OUTPUT_TOKENS, description="Extended thinking budget in tokens."
    )
    timeout_seconds: Float | None = Field(
        None, gt=0, le=MAX_SECONDS, description="Stop the step after this long."
    )
    idle_timeout_seconds: Float | None = Field(
        None,
        gt=0,
        le=MAX_SECONDS,
        description="No token for this long (a stall) fails the attempt as a timeout: it is retried "
        "per retry_config (or the default policy), and stops the step once retries are spent.",
    )
    stop_on: Annotated[tuple[Annotated[str, AfterValidator(rules.regex)], ...], one_or_many(str)] = Field(
        (), description="Regexes matched against the streamed text; a match stops the step."
    )
    retry_config: RetryConfig | None = Field(
        None,
        description="Retries of failed calls. Unset, the default policy applies: 2 retries of every "
        "failure class (rate_limit, overloaded, server_error, timeout (a stall too), connection, "
        "incomplete_stream), exponential backoff from 500 ms up to 30 s; max_retries: 0 turns retries off.",
    )
    fallback_model: str | None = Field(None, description="Model tried once retries are exhausted.")
    async_streaming: Bool = Field(
        True, description="true: handlers get chunks as they arrive; false: the whole text at the end."
    )
    stream_handler: Annotated[
        tuple[HandlerName, ...], one_or_many(HandlerName), AfterValidator(rules.no_repeats)
    ] = Field(("console",), description="Where the stream goes: one handler or a list of them.")
    stream_handler_opts: Annotated[dict[str, BaseModel], RegisteredHandlerOptions()] = Field(
        default_factory=dict,
        description="Handler options, flat (apply to every handler that knows them) or keyed by handler.",
    )
    # Claude Code options (executor: claude_code); validation warns where the api executor ignores them.
    cwd: str | None = Field(None, description="Claude Code's working directory, inside workspace_dir.")
    permission_mode: PermissionMode | None = Field(
        None, description="Claude Code's permission mode; unset = its default (unapproved tools refused)."
    )
    permission_prompt_tool: str | None = Field(None, description="MCP tool that answers permission prompts.")
    mcp_servers: dict[str, dict[str, Any]] | None = Field(
        None, description="MCP servers by name (stdio: command/args/env; sse or http: type/url/headers)."
    )
    mcp_config: str | None = Field(None, description="Path to an MCP config JSON file.")
    agents: dict[str, AgentOptions] | None = Field(None, description="Subagents by name.")
    hooks: dict[HookEvent, tuple[HookOptions, ...]] | None = Field(None, description="Hooks by event.")
    setting_sources: tuple[SettingSource, ...] | None = Field(
        None, description="Settings files Claude Code loads; unset = its default (all), [] = none."
    )
    max_budget_usd: Float | None = Field(
        None, gt=0, le=MAX_BUDGET_USD, description="Claude Code stops the step past this cost."
    )
    stream_buffer_size: Int = Field(
        1, ge=1, le=MAX_COUNT, description="Chunks gathered before a handler is called."
    )
    stream_flush_interval_ms: Int = Field(
        100, ge=1, le=MAX_DELAY_MS, description="A partial buffer is flushed after this many ms."
    )

    def handler_opts(self, name: str) -> dict[str, Any]:
        """The options given for handler `name` (flat or keyed); unset ones are left to the handler."""
        given = self.stream_handler_opts.get(name)
        return given.model_dump(exclude_unset=True) if given is not None else {}


class StaticPart(FrozenModel):
    """Fixed text (templating: {{steps.NAME.text}}, {{steps.NAME.data.x}}, {{vars.NAME}}, {{item}})."""

    type: Literal["static"]
    content: str


class FilePart(FrozenModel):
    """The text of a file."""

    type: Literal["file"]
    path: str


class PreviousResponsePart(FrozenModel):
    """The answer of an earlier step, or a field of its structured result."""

    type: Literal["previous_response"]
    step: str = Field(description="Name of an earlier step.")
    extract: str | None = Field(None, description="Dot-path into the step's structured result.")
    strict: Bool = Field(True, description="Fail when the step or the extracted field is missing.")


class SessionContextPart(FrozenModel):
    """Recent turns of a named claude_session conversation."""

    type: Literal["session_context"]
    session_name: str
    include_last_n: Int | None = Field(
        None, ge=1, le=MAX_COUNT, description="How many recent turns; unset = all."
    )


PromptPart = Annotated[
    StaticPart | FilePart | PreviousResponsePart | SessionContextPart, Field(discriminator="type")
]
# Each kind of prompt part by its `type`, read from the union above (the one list of them).
PART_MODELS: dict[str, type[BaseModel]] = {
    get_args(part.model_fields["type"].annotation)[0]: part for part in get_args(get_args(PromptPart)[0])
}


Prompt = Annotated[
    tuple[PromptPart, ...],
    BeforeValidator(rules.prompt_parts, json_schema_input_type=str | list[str | PromptPart]),
]


class StepBase(FrozenModel):
    name: Name = Field(description="Unique step name, used in {{steps.NAME...}} and previous_response.")
    condition: str | None = Field(None, description="Run the step only when this is true.")
    output_to_file: str | None = Field(
        None, description="Save the answer here, relative to the run's folder."
    )
    claude_options: ClaudeOptions = Field(
        default_factory=ClaudeOptions, description="Merged with workflow defaults and presets; the step wins."
    )
    prompt: Prompt = Field((), description="Prompt parts, or one plain string.")

    def max_streams(self) -> int:
        """The most conversations this step streams at once."""
        return 1


class ClaudeStep(StepBase):
    """One conversation; with tools it loops until end_turn or max_turns."""

    type: Literal["claude"]


class ClaudeSmartStep(StepBase):
    """A claude step whose defaults come from a preset."""

    type: Literal["claude_smart"]
    preset: PresetName | None = Field(None, description="Defaults to workflow.defaults.preset.")


class SessionConfig(FrozenModel):
    session_name: Name = Field(description="Steps and runs with the same name continue one conversation.")
    persist: Bool = Field(True, description="Store the conversation under the workspace.")
    continue_on_restart: Bool = Field(True, description="A later run continues the stored conversation.")
    max_turns_kept: Int | None = Field(
        None, ge=1, le=MAX_COUNT, description="Keep only the most recent turns."
    )


class ClaudeSessionStep(StepBase):
    """A conversation stored under a name and continued by later steps and runs."""

    type: Literal["claude_session"]
    session_config: SessionConfig


class ExtractionConfig(FrozenModel):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True, defer_build=True)

    format: Literal["json", "markdown", "text", "summary"] = "json"
    json_schema: dict[str, Any] | None = Field(
        None, alias="schema", description="JSON Schema the json answer must match."
    )
    post_processing: tuple[str, ...] = Field((), description="Processing applied to the answer, in order.")
    max_attempts: Int = Field(
        3, ge=1, le=100, description="Answers that fail the schema are re-asked up to this."
    )


class ClaudeExtractStep(StepBase):
    """Asks for structured output; the parsed object is the step's `data`."""

    type: Literal["claude_extract"]
    extraction_config: ExtractionConfig = Field(default_factory=ExtractionConfig)


class BatchTask(FrozenModel):
    id: Name
    prompt: Prompt = Field((), description="Appended to the step's prompt, if it has one.")
    claude_options: ClaudeOptions = Field(
        default_factory=ClaudeOptions, description="Merged over the step's options."
    )


BATCH_MAX_REQUESTS = 100_000  # the Message Batches API's limits per batch
BATCH_MAX_BYTES = 256 * 1024 * 1024


class BatchConfig(FrozenModel):
    max_parallel: Int = Field(4, ge=1, le=MAX_COUNT, description="Tasks streaming at once.")
    timeout_per_task_seconds: Float | None = Field(None, gt=0, le=MAX_SECONDS)
    consolidate_results: Bool = Field(True, description="Combine the task answers into the step's text.")
    api: Literal["messages", "batches"] = Field(
        "messages",
        description="messages: every item streams into its pane; batches: the items go to the Message "
        "Batches API (half the price, results within 24 hours).",
    )
    retry_as: Literal["batch", "stream"] = Field(
        "batch",
        description="api: batches: items that errored or expired are retried in a follow-up batch, "
        "or as streaming calls.",
    )
    poll_interval_seconds: Float = Field(
        5.0, gt=0, le=MAX_SECONDS, description="api: batches: first wait between polls; grows to 60 s."
    )
    max_batch_requests: Int = Field(
        10_000,
        ge=1,
        le=BATCH_MAX_REQUESTS,
        description="api: batches: requests per submitted batch (the API takes up to 100,000; smaller "
        "batches keep the client's memory low, and each one's results come as soon as it ends).",
    )
    max_batch_bytes: Int = Field(
        BATCH_MAX_BYTES, ge=1024, le=BATCH_MAX_BYTES, description="api: batches: bytes per batch."
    )


class ClaudeBatchStep(StepBase):
    """Many tasks (or one prompt template over `items`), each streaming on its own."""

    type: Literal["claude_batch"]
    tasks: tuple[BatchTask, ...] | None = None
    items: tuple[str, ...] | None = Field(None, description="Each item fills {{item}} in the prompt.")
    batch_config: BatchConfig = Field(default_factory=BatchConfig)

    def max_streams(self) -> int:
        count = len(self.tasks or ()) + len(self.items or ())
        return max(1, min(count, self.batch_config.max_parallel))


class ClaudeRobustStep(StepBase):
    """Retries any failure per retry_config, then fallback_model; a failure after that is a failure."""

    type: Literal["claude_robust"]
    retry_config: RetryConfig = Field(
        default_factory=RetryConfig, description="Also copied into claude_options.retry_config."
    )


class ParallelTask(FrozenModel):
    id: Name
    prompt: Prompt = Field((), description="Appended to the step's prompt, if it has one.")
    claude_options: ClaudeOptions = Field(
        default_factory=ClaudeOptions, description="Merged over the step's options."
    )
    output_to_file: str | None = None


class ParallelClaudeStep(StepBase):
    """Several conversations streaming at once, each to its own handlers and pane."""

    type: Literal["parallel_claude"]
    parallel_tasks: tuple[ParallelTask, ...] = Field(min_length=1)
    max_parallel: Int | None = Field(None, ge=1, le=MAX_COUNT, description="Unset = all at once.")
    fail_fast: Bool = Field(False, description="Stop the other tasks when one fails.")

    def max_streams(self) -> int:
        return min(len(self.parallel_tasks), self.max_parallel or len(self.parallel_tasks))


class RegisteredStep:
    """A step validated by the model its `type` is registered with (`engine.workflow.registry`), looked
    up when the file is validated; the JSON Schema offers every type registered when it is written."""

    @staticmethod
    def _validate(value: Any) -> StepBase:
        if isinstance(value, StepBase):
            registered = STEP_TYPES.get(getattr(value, "type", ""))
            if registered is not None and isinstance(value, registered.model):
                return value
        if not isinstance(value, dict):
            raise PydanticCustomError("model_type", "Input should be a mapping")
        tag = value.get("type")
        if tag is None:
            raise PydanticCustomError(
                "union_tag_not_found", "Unable to extract tag using discriminator 'type'"
            )
        if not isinstance(tag, str) or tag not in STEP_TYPES:
            raise PydanticCustomError(
                "union_tag_invalid",
                "Input tag {tag} found using 'type' does not match any of the expected tags: {expected_tags}",
                {"discriminator": "'type'", "tag": str(tag), "expected_tags": _quoted(STEP_TYPES)},
            )
        step: StepBase = STEP_TYPES[tag].model.model_validate(value)  # type: ignore[assignment]
        return step

    def __get_pydantic_core_schema__(
        self, source: Any, handler: GetCoreSchemaHandler
    ) -> core_schema.CoreSchema:
        return core_schema.no_info_plain_validator_function(self._validate)

    def __get_pydantic_json_schema__(
        self, schema: core_schema.CoreSchema, handler: GetJsonSchemaHandler
    ) -> JsonSchemaValue:
        refs = {name: handler(step.model.__pydantic_core_schema__) for name, step in STEP_TYPES.items()}
        return {
            "oneOf": list(refs.values()),
            "discriminator": {"propertyName": "type", "mapping": {n: r["$ref"] for n, r in refs.items()}},
        }


Step = Annotated[StepBase, RegisteredStep()]

# The built-in step types. claude_smart and claude_robust differ from claude only in options (presets,
# retry_config), which the loader has already merged into each step's claude_options.
for _step_type in (
    StepType("claude", ClaudeStep, "engine.steps.claude:run_claude_step"),
    StepType("claude_smart", ClaudeSmartStep, "engine.steps.claude:run_claude_step"),
    StepType("claude_session", ClaudeSessionStep, "engine.steps.session:run_session_step"),
    StepType("claude_extract", ClaudeExtractStep, "engine.steps.extract:run_extract_step"),
    StepType("claude_batch", ClaudeBatchStep, "engine.steps.batch:run_batch_step", fans_out=True),
    StepType("claude_robust", ClaudeRobustStep, "engine.steps.claude:run_claude_step"),
    StepType("parallel_claude", ParallelClaudeStep, "engine.steps.parallel:run_parallel_step", fans_out=True),
):
    register_step_type(_step_type)


class Defaults(FrozenModel):
    """Merged under every step's claude_options."""

    model: str | None = None
    preset: PresetName | None = Field(None, description="Preset of claude_smart steps that name none.")
    claude_options: ClaudeOptions = Field(default_factory=ClaudeOptions)


class Workflow(FrozenModel):
    """A whole workflow: settings and the steps to run in order."""

    name: str = Field(min_length=1)
    description: str | None = None
    workspace_dir: str = Field("./workspace", description="Tools' sandbox and working directory.")
    output_dir: str = Field("./outputs", description="Where run records are written.")
    defaults: Defaults = Field(default_factory=Defaults)
    budget_usd: Float | None = Field(
        None, gt=0, le=MAX_BUDGET_USD, description="Interrupt the run when this much is spent."
    )
    on_error: Literal["stop", "continue"] = "stop"
    vars: Annotated[
        dict[str, str],
        BeforeValidator(rules.text_values, json_schema_input_type=dict[str, str | int | float | bool]),
    ] = Field(default_factory=dict, description="Values of {{vars.NAME}}; --var NAME=VALUE wins.")
    steps: tuple[Step, ...] = Field(min_length=1)
    source: SkipJsonSchema[Path | None] = Field(None, exclude=True)

    def max_streams(self) -> int:
        """The most conversations the workflow streams at once (its widest step), for the dashboard."""
        return max(step.max_streams() for step in self.steps)


class WorkflowFile(FrozenModel):
    """A workflow file: one `workflow` mapping."""

    workflow: Workflow


JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"


def workflow_json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of a workflow file, for editors and `pipeline schema`."""
    schema = WorkflowFile.model_json_schema()
    schema["title"] = "pipeline workflow"
    schema["description"] = (
        "A workflow file for `pipeline`: one `workflow` mapping with settings and steps that call Claude. "
        "Use with `# yaml-language-server: $schema=<path to this file>`."
    )
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}
