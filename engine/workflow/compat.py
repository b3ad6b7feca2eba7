"""pipeline_ex compatibility: its spellings mapped to ours, its no-op keys, its non-Claude step types."""

from __future__ import annotations

import re
from collections.abc import Callable, Collection
from typing import Any

# Step types of the Elixir original that this runner does not run.
UNSUPPORTED_STEP_TYPES = frozenset(
    {
        "gemini",
        "gemini_instructor",
        "set_variable",
        "for_loop",
        "while_loop",
        "switch",
        "data_transform",
        "file_ops",
        "codebase_query",
        "pipeline",
        "checkpoint",
        "claude_continue",
    }
)
UNSUPPORTED_PROMPT_TYPES = frozenset({"claude_continue"})
# The preset of a claude_step that names none, when the workflow sets no default (pipeline_ex's too).
DEFAULT_SMART_PRESET = "development"


def _ms_to_seconds(value: Any) -> Any:
    return value / 1000 if isinstance(value, int | float) and not isinstance(value, bool) else value


# old key -> (new key, value conversion); the old key is accepted silently.
Rename = tuple[str, Callable[[Any], Any] | None]
OPTION_RENAMES: dict[str, Rename] = {"timeout_ms": ("timeout_seconds", _ms_to_seconds)}
RETRY_RENAMES: dict[str, Rename] = {
    "backoff_strategy": ("backoff", None),
    "retry_conditions": ("retry_on", None),
}
TASK_RENAMES: dict[str, Rename] = {"task_id": ("id", None)}
BATCH_CONFIG_RENAMES: dict[str, Rename] = {"timeout_per_task": ("timeout_per_task_seconds", _ms_to_seconds)}
DEFAULTS_RENAMES: dict[str, Rename] = {"claude_preset": ("preset", None)}
SESSION_PART_RENAMES: dict[str, Rename] = {"session_id": ("session_name", None)}

# pipeline_ex retry conditions with no exact equivalent here.
RETRY_REASON_ALIASES: dict[str, tuple[str, ...]] = {"api_error": ("server_error", "overloaded", "rate_limit")}
RETRY_REASONS_IGNORED: dict[str, str] = {
    "max_turns": "reaching max_turns is not a failure here, so it is never retried",
}

_NO_OUTPUT_FORMAT = "answers always stream as text events, use claude_extract for JSON"
_ALWAYS_VISIBLE = "the dashboard and events.jsonl already show everything"

# Keys that do nothing here: key -> why (shown in the warning).
_CLAUDE_CODE = "it configures Claude Code, and this runner calls the Messages API directly"
_ONE_VERSION = "this format has one version"

# Keys beside the top-level `workflow:` that do nothing here.
TOP_LEVEL_IGNORED: dict[str, str] = {"version": _ONE_VERSION}
WORKFLOW_IGNORED: dict[str, str] = {
    "version": _ONE_VERSION,
    "checkpoint_enabled": "checkpoints are not supported, run records go to output_dir",
    "checkpoint_dir": "checkpoints are not supported, run records go to output_dir",
    "claude_auth": "credentials come from ANTHROPIC_API_KEY, or the simulator is used",
    "environment": "there is no environment mode",
    "gemini_functions": "Gemini is not supported",
}
DEFAULTS_IGNORED: dict[str, str] = {
    "gemini_model": "Gemini is not supported",
    "gemini_token_budget": "Gemini is not supported",
    "claude_output_format": _NO_OUTPUT_FORMAT,
    "output_dir": "set workflow.output_dir instead",
}
STEP_IGNORED: dict[str, str] = {
    "role": "it was documentation only",
    "environment_aware": "there is no environment detection",
}
OPTION_IGNORED: dict[str, str] = {
    "verbose": _ALWAYS_VISIBLE,
    "debug_mode": _ALWAYS_VISIBLE,
    "output_format": _NO_OUTPUT_FORMAT,
    "print": "steps never run interactively",
    "cost_tracking": "cost is always tracked",
    "telemetry_enabled": "OpenTelemetry spans are always emitted, a no-op unless an SDK is configured",
    "session_id": "use a claude_session step to continue a conversation",
    "resume_session": "use a claude_session step to continue a conversation",
    # Claude Code (Agent SDK) options pipeline_ex passes through, that executor: claude_code does not take
    # (the ones it takes are claude_options fields, see engine/workflow/executors.py).
    "enable_skills": "skills are not supported (" + _CLAUDE_CODE + ")",
    "settings": "settings files are not read (" + _CLAUDE_CODE + ")",
    "add_dirs": "tools only ever see workspace_dir",
    "env": "tools run with a clean environment",
    "extra_args": _CLAUDE_CODE,
    "continue_conversation": "use a claude_session step to continue a conversation",
    "fork_session": "use a claude_session step to continue a conversation",
    "include_partial_messages": "answers always stream token by token",
    "output_style": _CLAUDE_CODE,
    "plugins": "plugins are not supported (" + _CLAUDE_CODE + ")",
    "user": _CLAUDE_CODE,
}

# Claude Code tools in allowed_tools: read as the tool here that does the same, or dropped with a warning.
TOOL_ALIASES: dict[str, str] = {
    "MultiEdit": "Edit",
    "NotebookRead": "Read",
    "NotebookEdit": "Edit",
    "Search": "Grep",
}
TOOLS_IGNORED: dict[str, str] = {
    "Task": "subagents are not supported",
    "Agent": "subagents are not supported",
    "WebFetch": "there is no web tool (Bash has the network only with sandbox_network)",
    "WebSearch": "there is no web tool",
    "TodoWrite": "there is no to-do tool",
    "TodoRead": "there is no to-do tool",
    "BashOutput": "Bash calls run to completion, there is no background shell",
    "KillBash": "Bash calls run to completion, there is no background shell",
    "KillShell": "Bash calls run to completion, there is no background shell",
    "SlashCommand": "slash commands are Claude Code's",
    "Skill": "skills are not supported",
    "ExitPlanMode": "there is no plan mode",
    "exit_plan_mode": "there is no plan mode",
}
MCP_TOOL_PREFIX = "mcp__"


def task_file_prompt(file: Any, prompt: Any) -> Any:
    """A pipeline_ex batch task's `file`: the file's text comes first, then the task's prompt (or
    "Analyze this file", pipeline_ex's default)."""
    parts: list[Any] = [{"type": "file", "path": file}]
    if prompt is None:
        return [*parts, "Analyze this file"]
    return [*parts, *(prompt if isinstance(prompt, list) else [prompt])]


def tool_rule_refusal(name: str) -> str:
    """Why a Claude Code permission rule such as `Bash(git:*)` is refused rather than ignored."""
    tool = name.partition("(")[0]
    return (
        f"'{name}' is a Claude Code permission rule, which this runner cannot honour: a tool here is "
        f"allowed whole or not at all; list '{tool}' (confined to workspace_dir) or leave it out"
    )


SESSION_CONFIG_IGNORED: dict[str, str] = {
    "checkpoint_frequency": "the session is stored after every turn",
    "description": "it was documentation only",
}
EXTRACTION_IGNORED: dict[str, str] = {
    "use_content_extractor": "extraction is built in",
    "max_summary_length": "ask for the length in the prompt",
    "include_metadata": "metadata is always in the run record",
}
PREVIOUS_RESPONSE_IGNORED: dict[str, str] = {
    "extract_with": "extract is a plain dot-path",
    "summary": "ask for a summary in the prompt",
    "max_length": "ask for the length in the prompt",
}
EXTRACTION_FORMAT_ALIASES: dict[str, str] = {"structured": "json"}

FALLBACK_ACTION_WARNINGS: dict[str, str] = {
    "graceful_degradation": (
        "fallback_action 'graceful_degradation' is refused: in the original it returned a fake success; "
        "here a step that fails after its retries fails"
    ),
}


def fallback_action_warning(action: object) -> str:
    """Why a pipeline_ex `fallback_action` is not honoured (none of them is)."""
    if isinstance(action, str) and action in FALLBACK_ACTION_WARNINGS:
        return FALLBACK_ACTION_WARNINGS[action]
    return (
        f"fallback_action {action!r} is not supported and is ignored: a step that fails after its "
        "retries fails (set fallback_model to try another model first)"
    )


def ignored_message(key: str, reason: str) -> str:
    return f"'{key}' (a pipeline_ex option) has no effect here and is ignored: {reason}"


# Patterns as text: `re` compiles (and caches) them on first use, so files without conditions never pay.
DOTTED_NAME = r"(?<![\w.])([A-Za-z_][\w-]*)((?:\.[A-Za-z_][\w-]*)+)"
QUOTED_TEXT = r"'[^']*'|\"[^\"]*\""


def map_condition(condition: str, earlier_steps: Collection[str]) -> str:
    """pipeline_ex's `check.needs_fixes` (a field of an earlier step's result) in our spelling,
    `steps.check.data.needs_fixes`."""

    def rewrite(match: re.Match[str]) -> str:
        head, rest = match.group(1), match.group(2)
        if head in earlier_steps and head not in ("steps", "vars", "item"):
            return f"steps.{head}.data{rest}"
        return match.group(0)

    pieces, last = [], 0
    for quoted in re.finditer(QUOTED_TEXT, condition):
        pieces.append(re.sub(DOTTED_NAME, rewrite, condition[last : quoted.start()]))
        pieces.append(quoted.group(0))
        last = quoted.end()
    pieces.append(re.sub(DOTTED_NAME, rewrite, condition[last:]))
    return "".join(pieces)
