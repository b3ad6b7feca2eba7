"""The `claude_smart` presets (from pipeline_ex's OptionBuilder) and the one table of models they use."""

from __future__ import annotations

from typing import Any, Literal

PresetName = Literal["development", "production", "analysis", "chat", "test"]

DEFAULT_MODEL = "claude-sonnet-4-6"

# One table: change a preset's model here and nowhere else.
PRESET_MODELS: dict[str, str] = {
    "development": "claude-sonnet-4-6",
    "production": "claude-sonnet-4-6",
    "analysis": "claude-opus-4-6",
    "chat": "claude-haiku-4-5",
    "test": "claude-haiku-4-5",
}
PRODUCTION_FALLBACK_MODEL = "claude-haiku-4-5"

# Plain `claude_options` mappings, merged under the user's options (the user's win, lists included).
PRESETS: dict[str, dict[str, Any]] = {
    "development": {
        "max_turns": 20,
        "allowed_tools": ["Write", "Edit", "Read", "Bash", "Glob", "Grep"],
        "retry_config": {"max_retries": 3, "backoff": "exponential"},
        "timeout_seconds": 300,
    },
    "production": {
        "max_turns": 10,
        "allowed_tools": ["Read"],
        "retry_config": {"max_retries": 2, "backoff": "linear"},
        "timeout_seconds": 120,
        "fallback_model": PRODUCTION_FALLBACK_MODEL,
    },
    "analysis": {
        "max_turns": 5,
        "allowed_tools": ["Read", "Glob", "Grep"],
        "timeout_seconds": 180,
    },
    "chat": {"max_turns": 15, "allowed_tools": [], "timeout_seconds": 60},
    "test": {"max_turns": 3, "allowed_tools": ["Read"], "timeout_seconds": 30},
}


def preset_options(name: str) -> dict[str, Any]:
    """The `claude_options` a preset supplies, its model included (a fresh copy)."""
    options = {"model": PRESET_MODELS[name], **PRESETS[name]}
    return {key: (dict(value) if isinstance(value, dict) else value) for key, value in options.items()}
