"""The simulator's Messages API as the official SDK sees it: streamed and whole answers, tools, thinking,
limits, structured output, and determinism.
"""

from __future__ import annotations

import json

import aiohttp
import anthropic

from engine.simulator import Simulator
from tests.simulator.support import MODEL, PROMPT, user

WRITE_TOOL = {
    "name": "Write",
    "description": "Write a file in the workspace",
    "input_schema": {
        "type": "object",
        "properties": {"file_path": {"type": "string"}, "content": {"type": "string"}},
        "required": ["file_path", "content"],
    },
}
BASH_TOOL = {
    "name": "Bash",
    "description": "Run a shell command",
    "input_schema": {
        "type": "object",
        "properties": {"command": {"type": "string"}},
        "required": ["command"],
    },
}


async def test_stream_is_many_small_text_deltas_in_the_api_event_order(client: anthropic.AsyncAnthropic):
    events = [
        event
        async for event in await client.messages.create(
            model=MODEL, max_tokens=2000, messages=user(PROMPT), stream=True
        )
    ]
    kinds = [event.type for event in events]
    assert kinds[:2] == ["message_start", "content_block_start"]
    assert kinds[-3:] == ["content_block_stop", "message_delta", "message_stop"]
    assert set(kinds[2:-3]) == {"content_block_delta"}
    deltas = [event.delta.text for event in events[2:-3]]
    assert len(deltas) >= 60
    assert all(0 < len(delta) <= 12 for delta in deltas)
    start = events[0].message
    assert start.id.startswith("msg_") and start.model == MODEL and start.role == "assistant"
    assert start.content == [] and start.stop_reason is None and start.usage.input_tokens > 0
    assert events[1].content_block.type == "text" and events[1].content_block.text == ""
    assert events[-2].delta.stop_reason == "end_turn"
    assert events[-2].usage.output_tokens == len(deltas)


async def test_stream_helper_and_non_streaming_give_the_same_message(client: anthropic.AsyncAnthropic):
    async with client.messages.stream(model=MODEL, max_tokens=2000, messages=user(PROMPT)) as stream:
        streamed = await stream.get_final_message()
    whole = await client.messages.create(model=MODEL, max_tokens=2000, messages=user(PROMPT))
    assert streamed.content[0].text == whole.content[0].text
    assert streamed.usage.input_tokens == whole.usage.input_tokens
    assert streamed.usage.output_tokens == whole.usage.output_tokens
    assert streamed.stop_reason == whole.stop_reason == "end_turn"
    text = whole.content[0].text
    assert text.startswith("## ") and "\n- " in text
    assert "asyncio" in text.lower()


async def test_answers_are_deterministic_to_the_byte(simulator: Simulator):
    body = {"model": MODEL, "max_tokens": 500, "stream": True, "messages": user("Describe a B-tree index")}
    bodies = []
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
        for _ in range(2):
            async with http.post(f"{simulator.base_url}/v1/messages", json=body) as response:
                assert response.headers["content-type"].startswith("text/event-stream")
                assert response.headers["request-id"].startswith("req_")
                bodies.append(await response.read())
        other = body | {"messages": user("Describe a hash index")}
        async with http.post(f"{simulator.base_url}/v1/messages", json=other) as response:
            different = await response.read()
    assert bodies[0] == bodies[1]
    assert different != bodies[0]
    frames = bodies[0].split(b"\n\n")
    assert frames[0].startswith(b'event: message_start\ndata: {"type":"message_start"')
    assert frames[2] == b'event: ping\ndata: {"type": "ping"}'
    assert frames[-2] == b'event: message_stop\ndata: {"type":"message_stop"}'


async def test_tool_use_round_trip(client: anthropic.AsyncAnthropic):
    messages: list[dict[str, object]] = [
        {"role": "user", "content": "Write a python script hello.py that prints a greeting, then run it"}
    ]
    calls = []
    for _ in range(4):
        events = [
            event
            async for event in await client.messages.create(
                model=MODEL, max_tokens=4000, tools=[WRITE_TOOL, BASH_TOOL], messages=messages, stream=True
            )
        ]
        starts = [e.content_block for e in events if e.type == "content_block_start"]
        tool_deltas = [
            e.delta for e in events if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
        ]
        stop_reason = next(e.delta.stop_reason for e in events if e.type == "message_delta")
        if stop_reason != "tool_use":
            final_text = "".join(
                e.delta.text
                for e in events
                if e.type == "content_block_delta" and e.delta.type == "text_delta"
            )
            break
        tool_start = next(block for block in starts if block.type == "tool_use")
        assert tool_start.input == {} and tool_start.id.startswith("toolu_")
        assert len(tool_deltas) > 1
        tool_input = json.loads("".join(delta.partial_json for delta in tool_deltas))
        calls.append((tool_start.name, tool_input))
        messages.append(
            {
                "role": "assistant",
                "content": [
                    {"type": "tool_use", "id": tool_start.id, "name": tool_start.name, "input": tool_input}
                ],
            }
        )
        result = f"wrote {tool_input['file_path']}" if tool_start.name == "Write" else "Hello from hello"
        messages.append(
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": tool_start.id, "content": result}],
            }
        )
    assert [name for name, _ in calls] == ["Write", "Bash"]
    assert calls[0][1]["file_path"] == "hello.py" and "def " in calls[0][1]["content"]
    assert calls[1][1]["command"] == "python hello.py"
    assert "wrote hello.py" in final_text and "Hello from hello" in final_text


async def test_non_streaming_tool_use_matches_the_stream(client: anthropic.AsyncAnthropic):
    request = {"model": MODEL, "max_tokens": 4000, "tools": [WRITE_TOOL], "messages": user("Create notes.md")}
    whole = await client.messages.create(**request)
    async with client.messages.stream(**request) as stream:
        streamed = await stream.get_final_message()
    assert whole.stop_reason == streamed.stop_reason == "tool_use"
    assert [b.to_dict() for b in whole.content] == [b.to_dict() for b in streamed.content]
    assert whole.content[-1].input["file_path"] == "notes.md"


async def test_thinking_blocks_come_first_with_a_signature(client: anthropic.AsyncAnthropic):
    thinking = {"type": "enabled", "budget_tokens": 1024}
    events = [
        event
        async for event in await client.messages.create(
            model=MODEL, max_tokens=3000, thinking=thinking, messages=user(PROMPT), stream=True
        )
    ]
    delta_types = [e.delta.type for e in events if e.type == "content_block_delta"]
    assert delta_types[0] == "thinking_delta"
    assert delta_types.count("signature_delta") == 1
    assert delta_types.index("signature_delta") < delta_types.index("text_delta")
    async with client.messages.stream(
        model=MODEL, max_tokens=3000, thinking=thinking, messages=user(PROMPT)
    ) as s:
        message = await s.get_final_message()
    assert [block.type for block in message.content] == ["thinking", "text"]
    assert message.content[0].thinking and message.content[0].signature
    # Sending the thinking block back (as agents do) is accepted.
    follow_up = [
        *user(PROMPT),
        {"role": "assistant", "content": [b.to_dict() for b in message.content]},
        *user("Thanks, and what about threads?"),
    ]
    again = await client.messages.create(model=MODEL, max_tokens=3000, thinking=thinking, messages=follow_up)
    assert again.content[0].type == "thinking"


async def test_max_tokens_cuts_the_answer(client: anthropic.AsyncAnthropic):
    whole = await client.messages.create(model=MODEL, max_tokens=7, messages=user(PROMPT))
    assert whole.stop_reason == "max_tokens" and whole.usage.output_tokens == 7
    deltas = [
        event
        async for event in await client.messages.create(
            model=MODEL, max_tokens=7, messages=user(PROMPT), stream=True
        )
        if event.type == "content_block_delta"
    ]
    assert len(deltas) == 7
    assert "".join(d.delta.text for d in deltas) == whole.content[0].text


async def test_stop_sequence_cuts_before_it(client: anthropic.AsyncAnthropic):
    full = await client.messages.create(model=MODEL, max_tokens=2000, messages=user(PROMPT))
    text = full.content[0].text
    assert "\n- " in text
    cut = await client.messages.create(
        model=MODEL, max_tokens=2000, messages=user(PROMPT), stop_sequences=["\n- "]
    )
    assert cut.stop_reason == "stop_sequence" and cut.stop_sequence == "\n- "
    assert cut.content[0].text == text[: text.index("\n- ")]


async def test_structured_output_is_an_instance_of_the_schema(client: anthropic.AsyncAnthropic):
    schema = {
        "type": "object",
        "properties": {
            "title": {"type": "string"},
            "score": {"type": "integer", "minimum": 1, "maximum": 5},
            "tags": {"type": "array", "items": {"type": "string"}},
            "level": {"enum": ["low", "high"]},
        },
        "required": ["title", "score", "tags", "level"],
    }
    message = await client.messages.create(
        model=MODEL,
        max_tokens=2000,
        messages=user("Rate the design of the billing service"),
        output_config={"format": {"type": "json_schema", "schema": schema}},
    )
    data = json.loads(message.content[0].text)
    assert set(data) == {"title", "score", "tags", "level"}
    assert 1 <= data["score"] <= 5 and data["level"] in ("low", "high") and isinstance(data["tags"], list)
    in_system = await client.messages.create(
        model=MODEL,
        max_tokens=2000,
        system=f"Answer only with JSON matching this schema: {json.dumps(schema)}",
        messages=user("Rate the design of the billing service"),
    )
    assert set(json.loads(in_system.content[0].text)) == set(data)


async def test_count_tokens_models_beta_query_and_bearer_auth(simulator: Simulator):
    async with anthropic.AsyncAnthropic(base_url=simulator.base_url, auth_token="token", timeout=10) as sdk:
        counted = await sdk.messages.count_tokens(model=MODEL, messages=user(PROMPT))
        assert counted.input_tokens > 0
        models = await sdk.models.list()
        assert models.data and models.data[0].id.startswith("claude-")
        model = await sdk.models.retrieve("claude-anything")
        assert model.id == "claude-anything"
        beta = await sdk.beta.messages.create(
            model=MODEL, max_tokens=50, messages=user(PROMPT), betas=["interleaved-thinking-2025-05-14"]
        )
        assert beta.content[0].text
    assert "/v1/messages" in [record.path for record in simulator.log]


async def test_liberal_input_is_accepted(client: anthropic.AsyncAnthropic):
    message = await client.messages.create(
        model="any-model-name",
        max_tokens=100,
        messages=[
            {"role": "system", "content": "You are terse."},
            {
                "role": "user",
                "content": [
                    {"type": "text", "text": "x" * 3_000_000, "cache_control": {"type": "ephemeral"}}
                ],
            },
        ],
        metadata={"user_id": "u1"},
        extra_body={"context_management": {"edits": []}, "unknown_key": 1},
    )
    assert message.model == "any-model-name"
    assert message.usage.input_tokens > 700_000


async def test_tool_choice_is_honoured(client: anthropic.AsyncAnthropic):
    request = {"model": MODEL, "max_tokens": 2000, "tools": [WRITE_TOOL, BASH_TOOL]}
    chat = await client.messages.create(**request, messages=user("What is a monad?"))
    assert chat.stop_reason == "end_turn" and [b.type for b in chat.content] == ["text"]
    forced = await client.messages.create(
        **request, messages=user("What is a monad?"), tool_choice={"type": "tool", "name": "Bash"}
    )
    assert forced.stop_reason == "tool_use" and forced.content[-1].name == "Bash"
    refused = await client.messages.create(
        **request, messages=user("Write notes.md"), tool_choice={"type": "none"}
    )
    assert refused.stop_reason == "end_turn"
