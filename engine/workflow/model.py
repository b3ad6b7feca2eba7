"""The typed, immutable model of a workflow file (SPEC sections 3 and 4).

`load_workflow` builds these from YAML; the JSON Schema for editors is generated from them too.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

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
from engine.workflow.rules import RETRY_REASONS, keyed_handler_options

HandlerName = Literal["console", "file", "buffer", "callback"]
ToolName = Literal["Read", "Write", "Edit", "Glob", "Grep", "LS", "Bash"]
RetryReason = Literal[
    "rate_limit", "overloaded", "server_error", "timeout", "connection", "incomplete_stream"
]
Backoff = Literal["exponential", "linear", "fixed"]
SandboxMode = Literal["on", "off"]


class FrozenModel(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", defer_build=True)


Name = Annotated[str, AfterValidator(rules.name)]
CallableRef = Annotated[str, AfterValidator(rules.callable_ref)]


def one_or_many(item: Any) -> BeforeValidator:
    """Accepts one `item` where a list of them is expected."""
    return BeforeValidator(rules.one_or_many, json_schema_input_type=item | list[item])


class RetryConfig(FrozenModel):
    """How a failed call (also one that fails mid-stream) is retried before it counts as failed."""

    max_retries: int = Field(3, ge=0, le=100, description="Retries after the first attempt.")
    backoff: Backoff = Field("exponential", description="How the delay grows between attempts.")
    base_delay_ms: int = Field(1000, ge=0, description="Delay before the first retry, in ms.")
    max_delay_ms: Annotated[int, AfterValidator(rules.max_not_below_base)] = Field(
        30000, ge=0, description="Upper bound of any delay, in ms."
    )
    jitter: bool = Field(True, description="Randomise delays so parallel retries do not align.")
    retry_on: tuple[RetryReason, ...] = Field(RETRY_REASONS, description="Failures that are retried.")


class ConsoleHandlerOptions(FrozenModel):
    """Options of the `console` stream handler."""

    show_tools: bool = Field(True, description="Print tool calls and their results as they happen.")
    show_stats: bool = Field(False, description="Print tokens, speed and cost when the step ends.")
    color: bool | None = Field(
        None, description="Colour [step] prefixes and thinking; unset = when the terminal can."
    )


class FileHandlerOptions(FrozenModel):
    """Options of the `file` stream handler."""

    path: str | None = Field(
        None, description="File to write; default <run folder>/streams/<step>[.<task>].txt."
    )
    format: Literal["text", "jsonl"] = Field("text", description="text, or one JSON event per line.")
    append: bool = Field(False, description="Keep what the file already holds instead of starting afresh.")
    max_bytes: int | None = Field(None, ge=1, description="Rotate the file when it grows past this size.")
    backups: int = Field(3, ge=0, description="Rotated files kept.")


class BufferHandlerOptions(FrozenModel):
    """Options of the `buffer` stream handler."""

    max_bytes: int = Field(16 * 1024 * 1024, ge=1, description="Keep at most this many bytes in memory.")


class CallbackHandlerOptions(FrozenModel):
    """Options of the `callback` stream handler."""

    callback: CallableRef | None = Field(
        None, description="'package.module:function' called with each flushed batch (sync or async)."
    )
    on_complete: CallableRef | None = Field(
        None, description="'package.module:function' called once when the step ends."
    )


for _handler in (
    HandlerType("console", ConsoleHandlerOptions, "engine.handlers.console:ConsoleHandler"),
    HandlerType("file", FileHandlerOptions, "engine.handlers.file:FileHandler"),
    HandlerType("buffer", BufferHandlerOptions, "engine.handlers.buffer:BufferHandler"),
    HandlerType("callback", CallbackHandlerOptions, "engine.handlers.callback:CallbackHandler"),
):
    register_handler(_handler)

HANDLER_OPTION_MODELS: dict[str, type[BaseModel]] = {name: h.options for name, h in HANDLERS.items()}


class StreamHandlerOptions(FrozenModel):
    """Options per stream handler, keyed by handler name."""

    console: ConsoleHandlerOptions | None = None
    file: FileHandlerOptions | None = None
    buffer: BufferHandlerOptions | None = None
    callback: CallbackHandlerOptions | None = None


class FlatStreamHandlerOptions(ConsoleHandlerOptions, FileHandlerOptions, CallbackHandlerOptions):
    """Options given without handler names: each applies to every handler that knows it."""


class ClaudeOptions(FrozenModel):
    """How a step talks to Claude: model, limits, tools, retries and streaming."""

    model: str = Field(DEFAULT_MODEL, description="Claude model id.")
    max_tokens: int = Field(4096, ge=1, description="Output tokens per model turn.")
    system_prompt: str | None = Field(None, description="Replaces the default system prompt.")
    append_system_prompt: str | None = Field(None, description="Appended to the system prompt.")
    max_turns: int = Field(10, ge=1, description="Model turns in the tool loop (model -> tools -> model).")
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
    sandbox_network: bool = Field(False, description="Let sandboxed Bash commands use the network.")
    thinking: int | None = Field(None, ge=1024, description="Extended thinking budget in tokens.")
    timeout_seconds: float | None = Field(None, gt=0, description="Stop the step after this long.")
    idle_timeout_seconds: float | None = Field(
        None, gt=0, description="Stop the step when no token arrives for this long (a stall)."
    )
    stop_on: Annotated[tuple[Annotated[str, AfterValidator(rules.regex)], ...], one_or_many(str)] = Field(
        (), description="Regexes matched against the streamed text; a match stops the step."
    )
    retry_config: RetryConfig | None = Field(None, description="Retries of failed calls.")
    fallback_model: str | None = Field(None, description="Model tried once retries are exhausted.")
    async_streaming: bool = Field(
        True, description="true: handlers get chunks as they arrive; false: the whole text at the end."
    )
    stream_handler: Annotated[
        tuple[HandlerName, ...], one_or_many(HandlerName), AfterValidator(rules.no_repeats)
    ] = Field(
        ("console",), description="Where the stream goes: console, file, buffer, callback (one or a list)."
    )
    stream_handler_opts: Annotated[
        StreamHandlerOptions,
        BeforeValidator(
            keyed_handler_options,
            json_schema_input_type=StreamHandlerOptions | FlatStreamHandlerOptions,
        ),
    ] = Field(
        default_factory=StreamHandlerOptions,
        description="Handler options, flat (apply to every handler that knows them) or keyed by handler.",
    )
    stream_buffer_size: int = Field(1, ge=1, description="Chunks gathered before a handler is called.")
    stream_flush_interval_ms: int = Field(
        100, ge=1, description="A partial buffer is flushed after this many ms."
    )

    def handler_opts(self, name: str) -> dict[str, Any]:
        """The options given for handler `name` (flat or keyed); unset ones are left to the handler."""
        given = getattr(self.stream_handler_opts, name, None)
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
    strict: bool = Field(True, description="Fail when the step or the extracted field is missing.")


class SessionContextPart(FrozenModel):
    """Recent turns of a named claude_session conversation."""

    type: Literal["session_context"]
    session_name: str
    include_last_n: int | None = Field(None, ge=1, description="How many recent turns; unset = all.")


PromptPart = Annotated[
    StaticPart | FilePart | PreviousResponsePart | SessionContextPart, Field(discriminator="type")
]


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
    persist: bool = Field(True, description="Store the conversation under the workspace.")
    continue_on_restart: bool = Field(True, description="A later run continues the stored conversation.")
    max_turns_kept: int | None = Field(None, ge=1, description="Keep only the most recent turns.")


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
    max_attempts: int = Field(3, ge=1, description="Answers that fail the schema are re-asked up to this.")


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


class BatchConfig(FrozenModel):
    max_parallel: int = Field(4, ge=1, description="Tasks streaming at once.")
    timeout_per_task_seconds: float | None = Field(None, gt=0)
    consolidate_results: bool = Field(True, description="Combine the task answers into the step's text.")


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
    max_parallel: int | None = Field(None, ge=1, description="Unset = all at once.")
    fail_fast: bool = Field(False, description="Stop the other tasks when one fails.")

    def max_streams(self) -> int:
        return min(len(self.parallel_tasks), self.max_parallel or len(self.parallel_tasks))


Step = Annotated[
    ClaudeStep
    | ClaudeSmartStep
    | ClaudeSessionStep
    | ClaudeExtractStep
    | ClaudeBatchStep
    | ClaudeRobustStep
    | ParallelClaudeStep,
    Field(discriminator="type"),
]

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

STEP_MODELS: dict[str, type[StepBase]] = {name: t.model for name, t in STEP_TYPES.items()}  # type: ignore[misc]


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
    budget_usd: float | None = Field(None, gt=0, description="Interrupt the run when this much is spent.")
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
