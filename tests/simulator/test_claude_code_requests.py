"""Requests shaped as Claude Code sends them: the task is the prompt, not the instructions around it."""

from __future__ import annotations

import aiohttp
import anthropic

from engine.simulator import Simulator
from tests.simulator.support import MODEL, user
from tests.simulator.test_messages import BASH_TOOL, WRITE_TOOL

REMINDER = "<system-reminder>\nWrite commit messages that run checks and create files.\n</system-reminder>\n"
ENVIRONMENT = "# Environment\nRun tests, write files and check the results in the working directory."


async def test_reminders_and_system_entries_are_not_the_task(client: anthropic.AsyncAnthropic):
    message = await client.messages.create(
        model=MODEL,
        max_tokens=500,
        tools=[WRITE_TOOL, BASH_TOOL],
        messages=[
            {"role": "user", "content": [{"type": "text", "text": REMINDER}, {"type": "text", "text": "Hi"}]},
            {"role": "system", "content": [{"type": "text", "text": ENVIRONMENT}]},  # after the prompt
        ],
    )
    # Only "Say hi" is the task: no tool is called for the words of the reminder or the environment.
    assert message.stop_reason == "end_turn" and [block.type for block in message.content] == ["text"]


async def test_the_connectivity_probe_is_answered(simulator: Simulator):
    async with aiohttp.ClientSession() as session:
        for method in ("HEAD", "GET"):
            async with session.request(method, f"{simulator.base_url}/api/hello") as response:
                assert response.status == 200


async def test_a_tool_named_after_the_task_is_preferred(client: anthropic.AsyncAnthropic):
    schema = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
    tools = [
        {"name": "CronCreate", "description": "Schedule a prompt", "input_schema": schema},
        {"name": "mcp__notes__save_note", "description": "Save a note", "input_schema": schema},
    ]
    message = await client.messages.create(
        model=MODEL, max_tokens=500, tools=tools, messages=user("Save a note about rivers")
    )
    assert message.stop_reason == "tool_use" and message.content[-1].name == "mcp__notes__save_note"
