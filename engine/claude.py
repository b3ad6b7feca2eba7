"""The one function that talks to Claude: one model call, streamed token by token into engine events.

It uses the SDK's raw event stream (`messages.create(stream=True)`), never the accumulating
`messages.stream()` helper: per-delta work here is O(1) (publish an event, append to the spool).
Closing the stream in `finally` is what makes interruption immediate: the HTTP connection is shut,
so no more tokens are sent or paid for.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anthropic

from engine.events import Event, StepPhase, TextDelta, ThinkingDelta, ToolCall, Usage
from engine.meter import StepMeter, StopRequested
from engine.pricing import cost_usd
from engine.retry import AttemptFailed, classify
from engine.spool import TextSpool

# Added to what the API said when it refuses the credentials: what to set instead.
AUTH_HINT = "set ANTHROPIC_API_KEY (or ANTHROPIC_AUTH_TOKEN) to a valid key, or run with --provider simulator"


def _failure(exc: BaseException) -> AttemptFailed:
    """The failure class and one-line message of an exception; credential problems say what to set."""
    failure = classify(exc)
    status = getattr(exc, "status_code", None)
    if status == 401:
        return AttemptFailed("auth", f"{failure.message}: the API rejected the key; {AUTH_HINT}")
    if status == 403:
        return AttemptFailed(
            "auth",
            f"{failure.message}: the key may not do this (check its workspace and model access in the "
            f"Claude Console); or {AUTH_HINT}",
        )
    if isinstance(exc, TypeError) and "authentication method" in str(exc):
        # The SDK found no key at all before sending anything.
        return AttemptFailed("auth", f"no API key: {AUTH_HINT}")
    return failure


@dataclass
class ModelReply:
    """What one model call produced, besides the text already streamed into the spool."""

    stop_reason: str | None
    model: str
    content: list[dict[str, Any]] = field(default_factory=list)  # the assistant turn, to send back
    tool_calls: list[ToolCall] = field(default_factory=list)


def _usage_event(step_id: str, model: str, usage: Any, start: Usage | None = None) -> Usage:
    """A Usage event; fields that `message_delta` leaves out are taken from `message_start`."""

    def get(name: str) -> int:
        value = getattr(usage, name, None)
        if value is None and start is not None:
            value = getattr(start, name)
        return int(value or 0)

    inp, out = get("input_tokens"), get("output_tokens")
    cw, cr = get("cache_creation_input_tokens"), get("cache_read_input_tokens")
    return Usage(step_id, model, inp, out, cw, cr, cost_usd(model, inp, out, cw, cr))


async def call_model(
    client: anthropic.AsyncAnthropic,
    request: dict[str, Any],
    *,
    step_id: str,
    publish: Callable[[Event], None],
    spool: TextSpool,
    meter: StepMeter,
    streaming: bool = True,
    keep_text: bool = False,
    separator: str = "",
) -> ModelReply:
    """Run one request. Raises AttemptFailed for anything that went wrong on the way."""
    publish(StepPhase(step_id, "connecting"))
    try:
        if not streaming:
            return await _call_once(client, request, step_id, publish, spool, meter, separator)
        stream = await client.messages.create(**request, stream=True)
    except (AttemptFailed, StopRequested):
        raise
    except Exception as exc:
        raise _failure(exc) from exc
    try:
        return await _read_stream(stream, request, step_id, publish, spool, meter, keep_text, separator)
    except (AttemptFailed, StopRequested):
        raise
    except Exception as exc:
        raise _failure(exc) from exc
    finally:
        # Runs on success, failure and cancellation alike: shuts the HTTP connection at once.
        await stream.close()


async def _read_stream(
    stream: Any,
    request: dict[str, Any],
    step_id: str,
    publish: Callable[[Event], None],
    spool: TextSpool,
    meter: StepMeter,
    keep_text: bool,
    separator: str,
) -> ModelReply:
    model = request["model"]
    blocks: list[dict[str, Any]] = []
    texts: list[str] = []  # the current block's text or thinking, kept only when it must be sent back
    json_parts: list[str] = []
    stop_reason: str | None = None
    finished = False
    on_text = meter.on_text
    append = spool.append
    async for event in stream:
        kind = event.type
        if kind == "content_block_delta":
            delta = event.delta
            dtype = delta.type
            if dtype == "text_delta":
                text = delta.text
                publish(TextDelta(step_id, text))
                append(text)
                if keep_text:
                    texts.append(text)
                on_text(text)
            elif dtype == "input_json_delta":
                json_parts.append(delta.partial_json)
                meter.touch()
            elif dtype == "thinking_delta":
                publish(ThinkingDelta(step_id, delta.thinking))
                texts.append(delta.thinking)
                meter.touch()
            elif dtype == "signature_delta":
                blocks[-1]["signature"] = blocks[-1].get("signature", "") + delta.signature
        elif kind == "content_block_start":
            block = event.content_block
            texts.clear()
            json_parts.clear()
            if block.type == "text":
                blocks.append({"type": "text", "text": ""})
                publish(StepPhase(step_id, "streaming"))
                if separator and spool.chars:
                    # Text of a later turn starts on a fresh paragraph, in the result and every handler.
                    publish(TextDelta(step_id, separator))
                    append(separator)
                separator = ""
            elif block.type == "thinking":
                blocks.append({"type": "thinking", "thinking": "", "signature": ""})
                publish(StepPhase(step_id, "thinking"))
            elif block.type == "tool_use":
                blocks.append({"type": "tool_use", "id": block.id, "name": block.name, "input": {}})
                publish(StepPhase(step_id, "tool_input", block.name))
            else:
                blocks.append(block.to_dict())
        elif kind == "content_block_stop":
            if not blocks:
                continue
            block = blocks[-1]
            if block["type"] == "text":
                block["text"] = "".join(texts)
            elif block["type"] == "thinking":
                block["thinking"] = "".join(texts)
            elif block["type"] == "tool_use":
                raw = "".join(json_parts)
                try:
                    block["input"] = json.loads(raw) if raw else {}
                except json.JSONDecodeError as exc:
                    raise AttemptFailed("incomplete_stream", f"tool input is not valid JSON: {exc}") from exc
                publish(ToolCall(step_id, block["id"], block["name"], block["input"]))
        elif kind == "message_start":
            message = event.message
            model = message.model or model
            start_usage = _usage_event(step_id, model, message.usage)
            meter.begin_call(model, start_usage)
            publish(start_usage)
        elif kind == "message_delta":
            stop_reason = event.delta.stop_reason
            publish(meter.end_call(_usage_event(step_id, model, event.usage, meter.call_start_usage)))
        elif kind == "message_stop":
            finished = True
    if not finished:
        raise AttemptFailed("incomplete_stream", "the stream ended before message_stop")
    return _reply(step_id, model, stop_reason, blocks)


def _reply(step_id: str, model: str, stop_reason: str | None, blocks: list[dict[str, Any]]) -> ModelReply:
    calls = [
        ToolCall(step_id, block["id"], block["name"], block["input"])
        for block in blocks
        if block["type"] == "tool_use"
    ]
    return ModelReply(stop_reason, model, blocks, calls)


async def _call_once(
    client: anthropic.AsyncAnthropic,
    request: dict[str, Any],
    step_id: str,
    publish: Callable[[Event], None],
    spool: TextSpool,
    meter: StepMeter,
    separator: str,
) -> ModelReply:
    """`async_streaming: false`: one non-streaming request, the text delivered once at the end."""
    try:
        message = await client.messages.create(**request)
    except Exception as exc:
        raise _failure(exc) from exc
    meter.begin_call(message.model)
    blocks = [block.to_dict() for block in message.content]
    for block in blocks:
        if block["type"] == "text" and block["text"]:
            text = separator + block["text"] if separator and spool.chars else block["text"]
            separator = ""
            publish(TextDelta(step_id, text))
            spool.append(text)
            meter.on_text(text)
        elif block["type"] == "tool_use":
            publish(ToolCall(step_id, block["id"], block["name"], block["input"]))
    publish(meter.end_call(_usage_event(step_id, message.model, message.usage)))
    return _reply(step_id, message.model, message.stop_reason, blocks)
