"""Checks a Messages API request body the way the real API does, naming the problem in a 400 error.

Liberal where real clients rely on it (unknown keys and block fields, `system` role entries, any model).
"""

from __future__ import annotations

import json
from typing import Any

ROLES = ("user", "assistant", "system")


class InvalidRequest(ValueError):
    """A request the API would refuse with 400 invalid_request_error; the message names the problem."""


def parse_json_object(raw: bytes) -> dict[str, Any]:
    """The request body as a JSON object, or InvalidRequest."""
    if not raw.strip():
        raise InvalidRequest("request body is empty: expected a JSON object")
    try:
        body = json.loads(raw, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise InvalidRequest("request body is not valid UTF-8") from None
    except json.JSONDecodeError as error:
        raise InvalidRequest(
            f"There was an error parsing the body of your request: {error.msg} "
            f"at line {error.lineno}, column {error.colno}"
        ) from None
    except RecursionError:
        raise InvalidRequest("request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise InvalidRequest(f"request body must be a JSON object, not {type(body).__name__}")
    return body


def _refuse_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity; they are not JSON, and the API refuses them.
    raise InvalidRequest(f"There was an error parsing the body of your request: {name} is not valid JSON")


def check_messages_request(body: dict[str, Any], *, needs_max_tokens: bool = True) -> None:
    """Raise InvalidRequest for a body `POST /v1/messages` (or count_tokens) would refuse."""
    model = body.get("model")
    if model is None:
        raise InvalidRequest("model: Field required")
    if not isinstance(model, str) or not model.strip():
        raise InvalidRequest("model: Input should be a non-empty string")
    if needs_max_tokens:
        max_tokens = body.get("max_tokens")
        if max_tokens is None:
            raise InvalidRequest("max_tokens: Field required")
        if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
            raise InvalidRequest(f"max_tokens: Input should be a positive integer, got {max_tokens!r}")
    if "stream" in body and not isinstance(body["stream"], bool):
        raise InvalidRequest("stream: Input should be a valid boolean")
    _check_messages(body.get("messages"))
    _check_system(body.get("system"))
    _check_stop_sequences(body.get("stop_sequences"))
    _check_tools(body.get("tools"))
    _check_thinking(body.get("thinking"))


def _check_messages(messages: Any) -> None:
    if messages is None:
        raise InvalidRequest("messages: Field required")
    if not isinstance(messages, list):
        raise InvalidRequest("messages: Input should be a valid list")
    if not messages:
        raise InvalidRequest("messages: at least one message is required")
    for i, message in enumerate(messages):
        where = f"messages.{i}"
        if not isinstance(message, dict):
            raise InvalidRequest(f"{where}: Input should be an object with `role` and `content`")
        role = message.get("role")
        if role is None:
            raise InvalidRequest(f"{where}.role: Field required")
        if role not in ROLES:
            raise InvalidRequest(f"{where}.role: Input should be 'user' or 'assistant', got {role!r}")
        if "content" not in message:
            raise InvalidRequest(f"{where}.content: Field required")
        _check_content(message["content"], where, last=i == len(messages) - 1 and role == "assistant")


def _check_content(content: Any, where: str, *, last: bool) -> None:
    if isinstance(content, str):
        # A final assistant message is a prefill to continue; an empty one is harmless, so it is accepted.
        if not content and not last:
            raise InvalidRequest(f"{where}.content: messages must have non-empty content")
        return
    if not isinstance(content, list):
        raise InvalidRequest(f"{where}.content: Input should be a string or a list of content blocks")
    if not content:
        raise InvalidRequest(f"{where}.content: messages must have non-empty content")
    for j, block in enumerate(content):
        block_where = f"{where}.content.{j}"
        if not isinstance(block, dict):
            raise InvalidRequest(f"{block_where}: Input should be a content block object")
        block_type = block.get("type")
        if not isinstance(block_type, str):
            raise InvalidRequest(f"{block_where}.type: Field required")
        if block_type == "text":
            text = block.get("text")
            if not isinstance(text, str):
                raise InvalidRequest(f"{block_where}.text: Field required")
            if not text:
                raise InvalidRequest(f"{block_where}: text content blocks must be non-empty")
        elif block_type == "tool_result" and not isinstance(block.get("tool_use_id"), str):
            raise InvalidRequest(f"{block_where}.tool_use_id: Field required")
        elif block_type == "tool_use" and not isinstance(block.get("name"), str):
            raise InvalidRequest(f"{block_where}.name: Field required")


def _check_system(system: Any) -> None:
    if system is None or isinstance(system, str):
        return
    if not isinstance(system, list) or not all(isinstance(block, dict) for block in system):
        raise InvalidRequest("system: Input should be a string or a list of text blocks")


def _check_stop_sequences(stop_sequences: Any) -> None:
    if stop_sequences is None:
        return
    if not isinstance(stop_sequences, list) or not all(isinstance(s, str) for s in stop_sequences):
        raise InvalidRequest("stop_sequences: Input should be a list of strings")
    if any(not s for s in stop_sequences):
        raise InvalidRequest("stop_sequences: each stop sequence must be non-empty")


def _check_tools(tools: Any) -> None:
    if tools is None:
        return
    if not isinstance(tools, list):
        raise InvalidRequest("tools: Input should be a valid list")
    for i, tool in enumerate(tools):
        if not isinstance(tool, dict) or not isinstance(tool.get("name"), str):
            raise InvalidRequest(f"tools.{i}.name: Field required")


def _check_thinking(thinking: Any) -> None:
    if thinking is None:
        return
    if not isinstance(thinking, dict) or not isinstance(thinking.get("type"), str):
        raise InvalidRequest("thinking.type: Field required")
    if thinking["type"] == "enabled":
        budget = thinking.get("budget_tokens")
        if isinstance(budget, bool) or not isinstance(budget, int) or budget < 1:
            raise InvalidRequest("thinking.enabled.budget_tokens: Input should be a positive integer")


def check_pacing_header(name: str, value: str | None, limit: float) -> float | None:
    """A number from 0 to `limit` from an `x-sim-*` header; None when absent, InvalidRequest if malformed."""
    if value is None:
        return None
    try:
        number = float(value)
    except ValueError:
        raise InvalidRequest(f"header {name}: expected a number, got {value!r}") from None
    if not 0 <= number <= limit:
        raise InvalidRequest(f"header {name}: expected a number from 0 to {limit:g}, got {value!r}")
    return number


def check_count_header(name: str, value: str | None, limit: int) -> int | None:
    """A whole number >= 0 from an `x-sim-*` header, None when absent, InvalidRequest when malformed."""
    if value is None:
        return None
    text = value.strip()
    if not (text.isascii() and text.isdigit()) or int(text) > limit:
        raise InvalidRequest(f"header {name}: expected a whole number from 0 to {limit}, got {value!r}")
    return int(text)
