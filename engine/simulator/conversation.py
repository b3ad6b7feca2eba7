"""Reads what a simulated answer depends on out of a Messages request.

That is the task (latest user text), the system text, and the tool calls made since the task.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

REMINDER_OPEN, REMINDER_CLOSE = "<system-reminder>", "</system-reminder>"


@dataclass(frozen=True)
class ToolCall:
    """A tool call the assistant made earlier in the conversation, with the result the client sent back."""

    name: str
    input: Any
    result: str
    is_error: bool


@dataclass(frozen=True)
class RequestedConversation:
    system_text: str
    # The latest user message that has text: the task the assistant is working on.
    task: str
    # Tool calls made since that task message, oldest first.
    tool_calls: tuple[ToolCall, ...]

    @classmethod
    def from_body(cls, body: dict[str, Any]) -> RequestedConversation:
        messages = [m for m in body.get("messages", []) if isinstance(m, dict)]
        task_index = 0
        task = ""
        for index, message in enumerate(messages):
            # `system` entries inside messages are instructions (Claude Code sends its environment
            # that way, after the prompt), and so are <system-reminder> blocks: neither is the task.
            if message.get("role") == "user":
                text = text_of(message.get("content"), skip_reminders=True)
                if text.strip():
                    task_index, task = index, text
        system_parts = [text_of(body.get("system"))]
        system_parts += [text_of(m.get("content")) for m in messages if m.get("role") == "system"]
        return cls(
            system_text="\n".join(part for part in system_parts if part),
            task=task,
            tool_calls=_tool_calls(messages[task_index + 1 :]),
        )


def text_of(content: Any, *, skip_reminders: bool = False) -> str:
    """The plain text of a message's content (a string or a list of blocks), tool results excluded;
    `skip_reminders` leaves out text blocks that are only a <system-reminder>."""
    if isinstance(content, str):
        return content
    if not isinstance(content, list):
        return ""
    return "\n".join(
        block["text"]
        for block in content
        if isinstance(block, dict)
        and block.get("type") == "text"
        and isinstance(block.get("text"), str)
        and not (skip_reminders and _is_reminder(block["text"]))
    )


def _is_reminder(text: str) -> bool:
    stripped = text.strip()
    return stripped.startswith(REMINDER_OPEN) and stripped.endswith(REMINDER_CLOSE)


def _tool_calls(messages: list[dict[str, Any]]) -> tuple[ToolCall, ...]:
    uses: dict[str, tuple[str, Any]] = {}
    calls: list[ToolCall] = []
    for message in messages:
        content = message.get("content")
        if not isinstance(content, list):
            continue
        for block in content:
            if not isinstance(block, dict):
                continue
            if block.get("type") == "tool_use":
                uses[str(block.get("id"))] = (str(block.get("name")), block.get("input"))
            elif block.get("type") == "tool_result":
                name, tool_input = uses.get(str(block.get("tool_use_id")), ("tool", None))
                calls.append(
                    ToolCall(
                        name=name,
                        input=tool_input,
                        result=text_of(block.get("content")),
                        is_error=bool(block.get("is_error")),
                    )
                )
    return tuple(calls)
