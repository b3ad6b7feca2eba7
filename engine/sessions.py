"""Persistent conversations for `claude_session`: stored as JSON under the workspace, by session name.

Writes are atomic (a crash leaves the old file or the new one); a file that cannot be read back is a
clear error naming it, never a silent fresh start.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from engine.paths import safe_name
from engine.record import write_json_atomically

SESSION_DIR = ".sessions"
FORMAT_VERSION = 1


class SessionError(Exception):
    pass


def session_path(workspace: Path, name: str) -> Path:
    return workspace / SESSION_DIR / f"{safe_name(name)}.json"


def load_session(workspace: Path, name: str) -> dict[str, Any] | None:
    """The stored session, or None when there is none yet."""
    path = session_path(workspace, name)
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise SessionError(f"session {name!r}: cannot read {path}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise SessionError(
            f"session {name!r}: {path} is corrupt ({exc}); move it away to start afresh"
        ) from exc
    if not isinstance(data, dict) or not isinstance(data.get("messages"), list):
        raise SessionError(f"session {name!r}: {path} is not a session file; move it away to start afresh")
    return data


def save_session(
    workspace: Path,
    name: str,
    messages: list[dict[str, Any]],
    run_id: str,
    usage: dict[str, int],
    claude_code_session: str | None = None,
) -> None:
    """`claude_code_session`: the Claude Code session id that `executor: claude_code` resumes."""
    path = session_path(workspace, name)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"version": FORMAT_VERSION, "name": name, "run_id": run_id, "usage": usage, "messages": messages}
    if claude_code_session:
        data["claude_code_session"] = claude_code_session
    write_json_atomically(path, data)


def _starts_turn(message: dict[str, Any]) -> bool:
    """A user message that is a prompt, not tool results: where a turn begins."""
    if message.get("role") != "user":
        return False
    content = message.get("content")
    if isinstance(content, str):
        return True
    return not any(isinstance(block, dict) and block.get("type") == "tool_result" for block in content)


def complete_prefix(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The messages up to the last finished answer, so a broken-off turn is never stored half-done."""
    for end in range(len(messages), 0, -1):
        message = messages[end - 1]
        if message.get("role") == "assistant" and not any(
            isinstance(block, dict) and block.get("type") == "tool_use"
            for block in message.get("content", [])
        ):
            return messages[:end]
    return []


def trim_turns(messages: list[dict[str, Any]], keep: int | None) -> list[dict[str, Any]]:
    """Keep the last `keep` turns; cuts fall only where a turn starts, never between tool_use and result."""
    if not keep:
        return messages
    starts = [i for i, message in enumerate(messages) if _starts_turn(message)]
    if len(starts) <= keep:
        return messages
    return messages[starts[-keep] :]


def _message_text(message: dict[str, Any]) -> str:
    content = message.get("content")
    if isinstance(content, str):
        return content
    parts = []
    for block in content or []:
        if block.get("type") == "text":
            parts.append(block.get("text", ""))
        elif block.get("type") == "tool_use":
            parts.append(f"[tool {block.get('name')}: {json.dumps(block.get('input'), ensure_ascii=False)}]")
        elif block.get("type") == "tool_result":
            parts.append("[tool result]")
    return "\n".join(part for part in parts if part)


def session_transcript(workspace: Path, name: str, last_n: int | None) -> str:
    """A readable transcript of the session's last turns, for `session_context` prompt parts."""
    data = load_session(workspace, name)
    if data is None:
        return ""
    messages = trim_turns(data["messages"], last_n)
    return "\n\n".join(f"{m.get('role', '?').capitalize()}: {_message_text(m)}" for m in messages)
