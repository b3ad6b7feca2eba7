"""The checks the workflow model's fields run, and the names and patterns they accept (plain
functions, so diagnostics and the model share them).
"""

from __future__ import annotations

import re
from typing import Any

# What claude_extract's `post_processing` can do (engine/extraction.py does it); others warn.
POST_PROCESSING: tuple[str, ...] = (
    "extract_code_blocks",
    "extract_links",
    "extract_key_points",
    "extract_recommendations",
)
# Plain strings: `re` compiles them on first use (and caches them), not at start-up.
NAME_PATTERN = r"[A-Za-z0-9_][A-Za-z0-9_-]*"
CALLABLE_PATTERN = r"[A-Za-z_][\w.]*:[A-Za-z_]\w*"


def one_or_many(value: Any) -> Any:
    """A single string where a list is expected means a one-item list."""
    return [value] if isinstance(value, str) else value


def on_off(value: Any) -> Any:
    """A switch written `on`/`off`: YAML 1.1 reads those bare words as booleans, so both spellings count."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return value


def regex(pattern: str) -> str:
    """A `stop_on` pattern, checked by the same compiler the run matches with (linear time, RE2)."""
    from engine.linear_regex import compile_linear  # RE2 loads only for files that have patterns

    compile_linear(pattern)  # UnsupportedPattern is a ValueError: one line, with the pattern
    return pattern


def name(value: str) -> str:
    if not re.fullmatch(NAME_PATTERN, value):
        raise ValueError(
            f"'{value}' is not a valid name: use letters, digits, '_' and '-' "
            "(names appear in {{steps.NAME.text}})"
        )
    return value


def callable_ref(value: str) -> str:
    if not re.fullmatch(CALLABLE_PATTERN, value):
        raise ValueError(f"'{value}' is not a 'package.module:function' reference")
    return value


def no_repeats(values: tuple[str, ...]) -> tuple[str, ...]:
    for index, value in enumerate(values):
        if value in values[:index]:
            raise ValueError(f"'{value}' is listed twice")
    return values


def max_not_below_base(value: int, info: Any) -> int:
    """`retry_config.max_delay_ms` against the `base_delay_ms` validated before it."""
    base = info.data.get("base_delay_ms")
    if base is not None and value < base:
        raise ValueError(f"max_delay_ms {value} is below base_delay_ms {base}")
    return value


def prompt_parts(value: Any) -> Any:
    """A plain string is one static part; so is a plain string inside the list."""
    if isinstance(value, str):
        value = [value]
    if isinstance(value, list):
        return [{"type": "static", "content": item} if isinstance(item, str) else item for item in value]
    return value


def text_values(value: Any) -> Any:
    """`vars` values written as numbers or booleans are the text they would be in a template."""
    if isinstance(value, dict):
        return {
            key: (str(item).lower() if isinstance(item, bool) else str(item))
            if isinstance(item, int | float)
            else item
            for key, item in value.items()
        }
    return value
