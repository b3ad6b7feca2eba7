"""Model aliases (read from the price table) and the `claude_smart` presets (from pipeline_ex's
OptionBuilder) with the models they use."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any, Literal

# The one place that says which id an alias means, and which models exist: the price table.
PRICE_TABLE = Path(__file__).resolve().parent.parent / "data" / "prices.json"


@cache
def _models() -> tuple[dict[str, str], tuple[str, ...]]:
    raw = json.loads(PRICE_TABLE.read_text(encoding="utf-8"))
    return dict(raw["aliases"]), tuple(name for name in raw["models"] if name != "default")


def resolve_model(name: str) -> str:
    """The model id an alias (`opus`, `claude-3-5-haiku-latest`, ...) stands for; other names unchanged."""
    return _models()[0].get(name.strip().lower(), name)


def priced_model(model_id: str) -> str | None:
    """The price table's entry for a model id: itself, or the longest listed prefix (a dated id)."""
    listed = _models()[1]
    if model_id in listed:
        return model_id
    prefixes = [name for name in listed if model_id.startswith(name + "-")]
    return max(prefixes, key=len) if prefixes else None


def model_names() -> tuple[str, ...]:
    """Every model id and alias the price table knows, for did-you-mean suggestions."""
    aliases, listed = _models()
    return (*listed, *aliases)


PresetName = Literal["development", "production", "analysis", "chat", "test"]

DEFAULT_MODEL = resolve_model("sonnet")

# One table: change a preset's model here and nowhere else (aliases move with the price table).
PRESET_MODELS: dict[str, str] = {
    "development": resolve_model("sonnet"),
    "production": resolve_model("sonnet"),
    "analysis": resolve_model("opus"),
    "chat": resolve_model("haiku"),
    "test": resolve_model("haiku"),
}
PRODUCTION_FALLBACK_MODEL = resolve_model("haiku")

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
