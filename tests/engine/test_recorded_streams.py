"""`call_model` on recorded SSE streams, replayed through the official SDK by an in-memory transport.

The way the SDK's own tests feed it responses (a mocked httpx transport, no server), so these run in
milliseconds beside the HTTP tests against the simulator. Each recording (tests/engine/recordings/*.sse,
the bytes as the API sends them) is replayed whole, in 7-byte pieces and one byte at a time: frames,
JSON and UTF-8 characters split across network reads must change nothing.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anthropic
import httpx2
import pytest

from engine.claude import ModelReply, call_model
from engine.events import Event, StepPhase, TextDelta, ThinkingDelta, ToolCall, Usage
from engine.meter import StepMeter
from engine.retry import AttemptFailed
from engine.spool import TextSpool

RECORDINGS = Path(__file__).parent / "recordings"
REQUEST = {"model": "claude-sonnet-4-6", "max_tokens": 100, "messages": [{"role": "user", "content": "Hi"}]}
PIECES = {"whole": None, "7-bytes": 7, "1-byte": 1}


class Replay(httpx2.AsyncByteStream):
    """The recorded bytes in pieces of `size`, then (optionally) a transport error, as a cut socket."""

    def __init__(self, data: bytes, size: int | None, then_raise: Exception | None = None) -> None:
        self._data, self._size, self._then_raise = data, size or len(data), then_raise
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._data), self._size):
            yield self._data[start : start + self._size]
        if self._then_raise is not None:
            raise self._then_raise

    async def aclose(self) -> None:
        self.closed = True


@dataclass
class Call:
    events: list[Event] = field(default_factory=list)
    spool: TextSpool = field(default_factory=TextSpool)
    meter: StepMeter = field(default_factory=StepMeter)
    requests: list[httpx2.Request] = field(default_factory=list)
    body: Replay | None = None

    def of(self, kind: type) -> list[Any]:
        return [event for event in self.events if type(event) is kind]


async def replay(
    name: str, pieces: int | None = None, *, then_raise: Exception | None = None, keep_text: bool = True
) -> tuple[Call, ModelReply | AttemptFailed]:
    """Run call_model on one recording; the reply, or the AttemptFailed it raised."""
    call = Call()

    def respond(request: httpx2.Request) -> httpx2.Response:
        call.requests.append(request)
        call.body = Replay((RECORDINGS / name).read_bytes(), pieces, then_raise)
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=call.body)

    http = httpx2.AsyncClient(transport=httpx2.MockTransport(respond))
    client = anthropic.AsyncAnthropic(
        api_key="sk-recorded", base_url="http://recorded.invalid", http_client=http, max_retries=0
    )
    async with client:
        try:
            reply: ModelReply | AttemptFailed = await call_model(
                client,
                dict(REQUEST),
                step_id="s",
                publish=call.events.append,
                spool=call.spool,
                meter=call.meter,
                keep_text=keep_text,
            )
        except AttemptFailed as failure:
            reply = failure
    return call, reply


pieces = pytest.mark.parametrize("size", PIECES.values(), ids=PIECES.keys())


@pieces
async def test_a_text_stream(size: int | None):
    call, reply = await replay("text.sse", size)
    assert isinstance(reply, ModelReply)
    text = "Rivers carve valleys over time, é ✓."
    assert "".join(delta.text for delta in call.of(TextDelta)) == text and call.spool.text() == text
    assert reply.stop_reason == "end_turn" and reply.model == "claude-sonnet-4-6"
    assert reply.content == [{"type": "text", "text": text}] and reply.tool_calls == []
    # Pieces of the network reads do not become pieces of text: three deltas, as recorded.
    assert len(call.of(TextDelta)) == 3 and call.meter.chunks == 3
    phases = [event.phase for event in call.of(StepPhase)]
    assert phases == ["connecting", "streaming"]
    start, end = call.of(Usage)
    assert (start.input_tokens, start.output_tokens) == (25, 1)
    assert (end.input_tokens, end.output_tokens) == (25, 9)  # input tokens carried over from message_start
    assert call.requests[0].url.path == "/v1/messages"
    assert call.body is not None and call.body.closed


async def test_text_is_not_kept_in_the_reply_unless_asked():
    call, reply = await replay("text.sse", keep_text=False)
    assert isinstance(reply, ModelReply) and reply.content == [{"type": "text", "text": ""}]
    assert call.spool.text() == "Rivers carve valleys over time, é ✓."


@pieces
async def test_thinking_then_text(size: int | None):
    call, reply = await replay("thinking_text.sse", size)
    assert isinstance(reply, ModelReply)
    assert "".join(delta.text for delta in call.of(ThinkingDelta)) == "The user wants a short answer."
    # Thinking is shown, never mixed into the step's text.
    assert call.spool.text() == "Yes, briefly."
    # The thinking block goes back to the API whole, with its signature, as the API requires.
    thought = "The user wants a short answer."
    assert reply.content == [
        {"type": "thinking", "thinking": thought, "signature": "EqQBCgIYAhIM1gbcDa9GJwZA2b3h"},
        {"type": "text", "text": "Yes, briefly."},
    ]
    phases = [event.phase for event in call.of(StepPhase)]
    assert phases == ["connecting", "thinking", "streaming"]
    assert reply.model == "claude-opus-4-7" and call.of(Usage)[-1].output_tokens == 30


@pieces
async def test_tool_use_input_assembled_from_split_json(size: int | None):
    call, reply = await replay("tool_use.sse", size)
    assert isinstance(reply, ModelReply)
    expected = ToolCall("s", "toolu_01A", "Read", {"file_path": "notes/é.md", "limit": 20})
    assert reply.stop_reason == "tool_use" and reply.tool_calls == [expected]
    assert call.of(ToolCall) == [expected]  # published once, when its block closed
    assert reply.content[1] == {"type": "tool_use", "id": "toolu_01A", "name": "Read",
                                "input": expected.input}
    assert call.spool.text() == "Let me look."
    assert [event.phase for event in call.of(StepPhase)] == ["connecting", "streaming", "tool_input"]
    assert call.of(StepPhase)[-1].detail == "Read"


@pieces
async def test_an_error_event_mid_stream_is_a_retryable_failure_keeping_the_text(size: int | None):
    call, failure = await replay("error_mid_stream.sse", size)
    assert isinstance(failure, AttemptFailed)
    assert failure.failure == "overloaded"
    assert failure.message == "mid-stream overloaded_error: Overloaded"
    # What streamed before the error reached the handlers; the retry logic decides what to do with it.
    assert call.spool.text() == "Half an answer"
    assert call.body is not None and call.body.closed


@pieces
async def test_a_stream_cut_before_message_stop_is_an_incomplete_stream(size: int | None):
    call, failure = await replay("cut_before_stop.sse", size)
    assert isinstance(failure, AttemptFailed)
    assert failure.failure == "incomplete_stream" and "before message_stop" in failure.message
    assert call.spool.text() == "The stream stops here"


async def test_a_connection_reset_mid_stream_is_a_connection_failure():
    call, failure = await replay("cut_before_stop.sse", 7, then_raise=httpx2.ReadError("connection reset"))
    assert isinstance(failure, AttemptFailed)
    assert failure.failure == "connection" and "connection reset" in failure.message
    assert call.spool.text() == "The stream stops here"


@pieces
async def test_pings_comments_and_unknown_events_and_deltas_are_ignored(size: int | None):
    call, reply = await replay("ping_and_unknown.sse", size)
    assert isinstance(reply, ModelReply)
    assert reply.stop_reason == "end_turn"
    assert [delta.text for delta in call.of(TextDelta)] == ["Still", " fine."]
    assert reply.content == [{"type": "text", "text": "Still fine."}]


@pytest.mark.parametrize("name", sorted(path.name for path in RECORDINGS.glob("*.sse")))
def test_recordings_are_well_formed_sse(name: str):
    """Every frame of a recording has its `event:` line and JSON data of the same type (or is a comment)."""
    frames = (RECORDINGS / name).read_text(encoding="utf-8").split("\n\n")
    assert frames[-1] == "", "a recording ends with a blank line"
    for frame in frames[:-1]:
        if frame.startswith(":"):
            continue
        event_line, data_line = frame.split("\n")
        event = event_line.removeprefix("event: ")
        assert json.loads(data_line.removeprefix("data: "))["type"] == event

