"""Scenario rules that script the answer itself: bulk chunks of a set size, and a given tool call."""

from __future__ import annotations

import pytest

from engine.simulator import Scenario, ScenarioError
from tests.simulator.support import MODEL, PROMPT, scenario_simulator, sdk_client, user

TOOLS = [{"name": "Write", "description": "write a file", "input_schema": {"type": "object"}}]


async def test_chunk_chars_sends_answer_tokens_chunks_of_that_size():
    yaml_text = "rules:\n  - {answer_tokens: 50, chunk_chars: 1000}\n"
    async with scenario_simulator(yaml_text) as sim, sdk_client(sim) as client:
        stream = await client.messages.create(model=MODEL, max_tokens=100, messages=user(PROMPT), stream=True)
        sizes = [len(e.delta.text) async for e in stream if e.type == "content_block_delta"]
    assert sizes == [1000] * 50


async def test_a_scripted_tool_call_is_made_when_the_tool_is_offered():
    yaml_text = "rules:\n  - {times: 1, tool_use: {name: Write, input: {file_path: ../x.txt, content: hi}}}\n"
    async with scenario_simulator(yaml_text) as sim, sdk_client(sim) as client:
        message = await client.messages.create(
            model=MODEL, max_tokens=500, messages=user(PROMPT), tools=TOOLS
        )
    [call] = [block for block in message.content if block.type == "tool_use"]
    assert (call.name, call.input) == ("Write", {"file_path": "../x.txt", "content": "hi"})
    assert message.stop_reason == "tool_use"


def test_a_malformed_tool_use_rule_is_one_clear_error():
    with pytest.raises(ScenarioError, match=r"rules\[0\]\.tool_use: expected"):
        Scenario.from_yaml("rules:\n  - {tool_use: Write}\n")
