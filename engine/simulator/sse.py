"""Server-sent-event framing of a planned reply, byte-compatible with the Messages API stream.

The whole answer is rendered up front into a head, one unit of bytes per output token, and a tail,
so streaming it is only writes: the server paces units and injects faults between them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from json.encoder import encode_basestring
from typing import Any

from engine.simulator.answers import Block, Reply

# Block kind -> (delta type, the delta's field holding the piece).
DELTA_FIELDS = {
    "text": ("text_delta", "text"),
    "thinking": ("thinking_delta", "thinking"),
    "tool_use": ("input_json_delta", "partial_json"),
}
PING = b'event: ping\ndata: {"type": "ping"}\n\n'
MESSAGE_STOP = b'event: message_stop\ndata: {"type":"message_stop"}\n\n'


def frame(event: str, data: dict[str, Any]) -> bytes:
    """One SSE frame: the event line, the compact JSON data line, a blank line."""
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return f"event: {event}\ndata: {payload}\n\n".encode()


def error_payload(error_type: str, message: str, request_id: str) -> dict[str, Any]:
    """The API's error body, also the data of a mid-stream `error` event."""
    return {"type": "error", "error": {"type": error_type, "message": message}, "request_id": request_id}


@dataclass(frozen=True)
class RenderedStream:
    """A reply as SSE bytes: `head` before the first token, `units[i]` carries token i, then `tail`."""

    head: bytes
    units: list[bytes]
    tail: bytes


def render_stream(reply: Reply) -> RenderedStream:
    start_message = reply.to_json() | {"content": [], "stop_reason": None, "stop_sequence": None}
    start_message["usage"] = reply.usage() | {"output_tokens": 1}
    pending = [frame("message_start", {"type": "message_start", "message": start_message})]
    units: list[bytes] = []
    head: bytes | None = None
    for index, block in enumerate(reply.blocks):
        pending.append(frame("content_block_start", _block_start(index, block)))
        if index == 0:
            pending.append(PING)
        delta_prefix, delta_suffix = _delta_affixes(index, block)
        # Chunks repeat a lot (common words), so each distinct one is encoded once.
        encoded: dict[str, bytes] = {}
        for chunk in block.chunks:
            delta = encoded.get(chunk)
            if delta is None:
                delta = encoded[chunk] = delta_prefix + encode_basestring(chunk).encode() + delta_suffix
            if head is None:
                head, pending = b"".join(pending), []
                units.append(delta)
            elif pending:
                units.append(b"".join(pending) + delta)
                pending = []
            else:
                units.append(delta)
        if block.kind == "thinking":
            pending.append(
                frame(
                    "content_block_delta",
                    {
                        "type": "content_block_delta",
                        "index": index,
                        "delta": {"type": "signature_delta", "signature": block.signature},
                    },
                )
            )
        pending.append(frame("content_block_stop", {"type": "content_block_stop", "index": index}))
    pending.append(
        frame(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": reply.stop_reason, "stop_sequence": reply.stop_sequence},
                "usage": reply.usage(),
            },
        )
    )
    pending.append(MESSAGE_STOP)
    if head is None:
        return RenderedStream(head=b"".join(pending), units=[], tail=b"")
    return RenderedStream(head=head, units=units, tail=b"".join(pending))


def _block_start(index: int, block: Block) -> dict[str, Any]:
    if block.kind == "text":
        content: dict[str, Any] = {"type": "text", "text": ""}
    elif block.kind == "thinking":
        content = {"type": "thinking", "thinking": "", "signature": ""}
    else:
        content = {"type": "tool_use", "id": block.tool_id, "name": block.tool_name, "input": {}}
    return {"type": "content_block_start", "index": index, "content_block": content}


def _delta_affixes(index: int, block: Block) -> tuple[bytes, bytes]:
    delta_type, field = DELTA_FIELDS[block.kind]
    prefix = (
        'event: content_block_delta\ndata: {"type":"content_block_delta",'
        f'"index":{index},"delta":{{"type":"{delta_type}","{field}":'
    )
    return prefix.encode(), b"}}\n\n"
