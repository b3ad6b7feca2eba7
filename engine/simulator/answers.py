"""Plans the whole simulated answer to a Messages request: its blocks, chunks, stop reason and usage.

Deterministic: the random generator is seeded from a hash of the request body (volatile fields
excluded), so the same request gives the same answer, streamed or not.
"""

from __future__ import annotations

import base64
import hashlib
import json
import random
from dataclasses import dataclass
from typing import Any, Literal

from engine.simulator.conversation import RequestedConversation
from engine.simulator.structured import requested_schema, schema_answer
from engine.simulator.tools import PlannedToolUse, next_tool_use, tool_report
from engine.simulator.writing import Writer, answer_chunks, keywords, split_into_chunks, write_chunks

# Body fields that do not change what the model would say (limits only cut the same answer shorter).
VOLATILE_FIELDS = ("stream", "metadata", "max_tokens", "stop_sequences")
CHARS_PER_TOKEN = 4
BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

BlockKind = Literal["text", "thinking", "tool_use"]


@dataclass(frozen=True)
class Block:
    """One content block and the pieces it is streamed in (text, thinking, or partial tool-input JSON)."""

    kind: BlockKind
    chunks: tuple[str, ...]
    tool_id: str = ""
    tool_name: str = ""
    tool_input: dict[str, Any] | None = None
    signature: str = ""

    def to_json(self) -> dict[str, Any]:
        """The block as it appears in a non-streamed message."""
        if self.kind == "text":
            return {"type": "text", "text": "".join(self.chunks)}
        if self.kind == "thinking":
            return {"type": "thinking", "thinking": "".join(self.chunks), "signature": self.signature}
        return {
            "type": "tool_use",
            "id": self.tool_id,
            "name": self.tool_name,
            "input": self.tool_input or {},
        }


@dataclass(frozen=True)
class Reply:
    """A complete planned answer; streaming and non-streaming responses are both rendered from it."""

    message_id: str
    model: str
    blocks: tuple[Block, ...]
    stop_reason: str
    stop_sequence: str | None
    input_tokens: int

    @property
    def output_tokens(self) -> int:
        return sum(len(block.chunks) for block in self.blocks)

    def usage(self) -> dict[str, int]:
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": self.output_tokens,
        }

    def to_json(self) -> dict[str, Any]:
        """The non-streamed response body."""
        return {
            "id": self.message_id,
            "type": "message",
            "role": "assistant",
            "model": self.model,
            "content": [block.to_json() for block in self.blocks],
            "stop_reason": self.stop_reason,
            "stop_sequence": self.stop_sequence,
            "usage": self.usage(),
        }


@dataclass(frozen=True)
class AnswerSettings:
    """What the scenario or request headers ask of the answer."""

    answer_tokens: int | None = None
    exact_reply: str | None = None
    invalid_json: bool = False
    chunk_chars: int | None = None
    tool_use: tuple[str, dict[str, Any]] | None = None


def canonical_body(body: dict[str, Any]) -> bytes:
    stable = {key: value for key, value in body.items() if key not in VOLATILE_FIELDS}
    return json.dumps(stable, sort_keys=True, ensure_ascii=False, default=str).encode()


def estimate_input_tokens(canonical: bytes) -> int:
    return max(1, len(canonical) // CHARS_PER_TOKEN)


def compose_reply(
    body: dict[str, Any], conversation: RequestedConversation, settings: AnswerSettings
) -> Reply:
    """The whole answer to a validated request."""
    canonical = canonical_body(body)
    seed = hashlib.sha256(canonical).digest()
    rng = random.Random(seed)
    writer = Writer(conversation.task, rng)

    blocks: list[Block] = []
    thinking = body.get("thinking")
    if isinstance(thinking, dict) and thinking.get("type") in ("enabled", "adaptive"):
        blocks.append(_thinking_block(writer, thinking.get("budget_tokens")))

    tools = body.get("tools") if isinstance(body.get("tools"), list) else []
    tool_use = (
        None
        if settings.exact_reply is not None
        else _scripted_tool_use(settings.tool_use, tools)
        or next_tool_use(conversation, tools, body.get("tool_choice"), rng)
    )
    schema = requested_schema(body, conversation.system_text, conversation.task)
    if settings.exact_reply is not None:
        text_chunks = split_into_chunks(settings.exact_reply)
    elif tool_use is not None:
        text_chunks = split_into_chunks(tool_use.preamble)
    elif schema is not None:
        text_chunks = split_into_chunks(
            schema_answer(schema, keywords(conversation.task), rng, invalid=settings.invalid_json)
        )
    elif conversation.tool_calls:
        text_chunks = split_into_chunks(tool_report(conversation.tool_calls, conversation.task))
    elif settings.chunk_chars:
        text_chunks = _bulk_chunks(writer, settings.answer_tokens or 1, settings.chunk_chars)
    else:
        text_chunks = answer_chunks(writer, settings.answer_tokens)

    stop_reason = "end_turn"
    stop_sequence = None
    text = "".join(text_chunks)
    cut = _first_stop_sequence(text, body.get("stop_sequences") or [])
    if cut is not None:
        position, stop_sequence = cut
        text_chunks = split_into_chunks(text[:position])
        stop_reason = "stop_sequence"
        tool_use = None
    if text_chunks or tool_use is None:
        blocks.append(Block("text", tuple(text_chunks)))
    if tool_use is not None:
        input_json = json.dumps(tool_use.input, ensure_ascii=False)
        blocks.append(
            Block(
                "tool_use",
                _json_pieces(input_json, rng),
                tool_id="toolu_01" + _base62(rng.getrandbits(128), 22),
                tool_name=tool_use.name,
                tool_input=tool_use.input,
            )
        )
        stop_reason = "tool_use"

    blocks, truncated = _limit_tokens(blocks, body["max_tokens"]) if "max_tokens" in body else (blocks, False)
    if truncated:
        stop_reason, stop_sequence = "max_tokens", None
    return Reply(
        message_id="msg_01" + _base62(int.from_bytes(seed[:16]), 22),
        model=str(body["model"]),
        blocks=tuple(blocks),
        stop_reason=stop_reason,
        stop_sequence=stop_sequence,
        input_tokens=estimate_input_tokens(canonical),
    )


def _scripted_tool_use(
    scripted: tuple[str, dict[str, Any]] | None, tools: list[dict[str, Any]]
) -> PlannedToolUse | None:
    if scripted is None or not any(t.get("name") == scripted[0] for t in tools):
        return None
    name, tool_input = scripted
    return PlannedToolUse(f"I'll use {name} for this.", name, dict(tool_input))


def _bulk_chunks(writer: Writer, count: int, size: int) -> list[str]:
    """`count` chunks of `size` characters: a natural answer repeated, so huge answers cost little to plan."""
    sample = "".join(answer_chunks(writer, 400)) + "\n\n"
    text = sample * (count * size // len(sample) + 1)
    return [text[i * size : (i + 1) * size] for i in range(count)]


def _thinking_block(writer: Writer, budget: Any) -> Block:
    natural = writer.rng.randint(40, 120)
    limit = min(natural, budget) if isinstance(budget, int) and budget > 0 else natural
    chunks = write_chunks(writer.thoughts(), limit)[:limit]
    digest = hashlib.sha256("".join(chunks).encode()).digest()
    signature = base64.b64encode(b"sim-thinking-signature:" + digest * 2).decode()
    return Block("thinking", tuple(chunks), signature=signature)


def _first_stop_sequence(text: str, stop_sequences: list[str]) -> tuple[int, str] | None:
    found = [(text.find(s), s) for s in stop_sequences if s and s in text]
    return min(found) if found else None


def _limit_tokens(blocks: list[Block], max_tokens: int) -> tuple[list[Block], bool]:
    """Blocks cut to `max_tokens` chunks in all, and whether anything was cut.

    A tool_use block that does not fit whole is dropped: a half-written tool call has no usable input.
    """
    kept: list[Block] = []
    remaining = max_tokens
    for block in blocks:
        if len(block.chunks) <= remaining:
            kept.append(block)
            remaining -= len(block.chunks)
            continue
        if block.kind != "tool_use" and remaining > 0:
            kept.append(Block(block.kind, block.chunks[:remaining], signature=block.signature))
        return kept or [Block("text", ())], True
    return kept, False


def _json_pieces(text: str, rng: random.Random) -> tuple[str, ...]:
    pieces = []
    start = 0
    while start < len(text):
        end = start + rng.randint(4, 16)
        pieces.append(text[start:end])
        start = end
    return tuple(pieces)


def _base62(number: int, length: int) -> str:
    digits = []
    for _ in range(length):
        number, digit = divmod(number, 62)
        digits.append(BASE62[digit])
    return "".join(digits)
