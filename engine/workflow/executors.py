"""Which claude_options each executor honours, so validation can warn where the chosen one ignores one.

`api` is the engine's own tool loop over the Messages API; `claude_code` runs the Claude Code agent
through claude-agent-sdk (engine/claude_code.py). Options not named here are honoured by both.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator, Mapping
from typing import Any

EXECUTORS = ("api", "claude_code")

# Claude Code options: the api executor has no agent to give them to.
CLAUDE_CODE_ONLY = (
    "cwd",
    "permission_mode",
    "permission_prompt_tool",
    "mcp_servers",
    "mcp_config",
    "agents",
    "hooks",
    "setting_sources",
    "max_budget_usd",
)
# The engine's own tools and transport: Claude Code runs its own tools and always streams.
API_ONLY: dict[str, str] = {
    "sandbox": "Claude Code runs its own tools (its sandbox is set in its settings)",
    "sandbox_network": "Claude Code runs its own tools (its sandbox is set in its settings)",
    "async_streaming": "Claude Code always streams",
}


def executor_warnings(options: Mapping[str, Any]) -> Iterator[tuple[str, str]]:
    """(option, why) for each option given that the step's executor does not honour, and for an
    executor that is not installed."""
    executor = options.get("executor", "api")
    if executor == "claude_code":
        # Looked up, not imported: validate stays light.
        if importlib.util.find_spec("claude_agent_sdk") is None:
            yield "executor", (
                "executor: claude_code needs the Claude Code extra, which is not installed: "
                "pip install 'pipeline[claude-code]' (the step will fail)"
            )
        for key, why in API_ONLY.items():
            if key in options:
                yield key, f"'{key}' is ignored by executor: claude_code: {why}"
    elif executor == "api":
        for key in CLAUDE_CODE_ONLY:
            if key in options and options[key] is not None:
                yield key, f"'{key}' is honoured only by executor: claude_code; the api executor ignores it"
