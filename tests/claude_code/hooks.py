"""A Python hook for the Claude Code tests: records the tools the agent is about to use."""

from __future__ import annotations

from typing import Any

TOOLS_SEEN: list[str] = []


async def record_tool(hook_input: dict[str, Any], tool_use_id: str | None, context: Any) -> dict[str, Any]:
    TOOLS_SEEN.append(hook_input["tool_name"])
    return {}
