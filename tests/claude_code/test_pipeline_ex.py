"""A pipeline_ex-style workflow (cwd, permission_mode, agents, hooks) runs under executor claude_code."""

from __future__ import annotations

import json

from engine.events import StepFinished
from tests.claude_code import hooks

PIPELINE_EX = """\
workflow:
  name: backend_builder
  workspace_dir: {tmp}/workspace
  output_dir: {tmp}/outputs
  defaults:
    claude_options:
      executor: claude_code
  steps:
    - name: implement
      type: claude
      role: muscle
      claude_options:
        model: claude-sonnet-4-6
        max_turns: 5
        allowed_tools: ["Write", "Edit", "Read"]
        cwd: {tmp}/workspace/backend
        permission_mode: accept_edits
        setting_sources: []
        append_system_prompt: "Focus on clean code"
        stream_handler: buffer
        agents:
          reviewer:
            description: Reviews code for bugs
            prompt: You review code and list its bugs.
            tools: [Read, Grep]
        hooks:
          PreToolUse:
            - matcher: Write  # Claude Code's settings form, as pipeline_ex workflows write it
              hooks: [{type: command, command: "cat >> hook_events.jsonl"}]
            - callback: "tests.claude_code.hooks:record_tool"
      prompt:
        - type: static
          content: "Write the file app.py"
"""


async def test_agents_and_hooks_workflow_runs(harness_factory, tmp_path):
    hooks.TOOLS_SEEN.clear()
    async with harness_factory() as h:
        result = await h.run(PIPELINE_EX.replace("{tmp}", str(tmp_path)))
    step = result.steps["implement"]
    assert step.status == "succeeded", (step.reason, step.error)
    backend = tmp_path / "workspace" / "backend"
    assert (backend / "app.py").is_file()  # cwd: the agent worked in the workspace's backend folder
    # The shell hook ran (Claude Code gave it the event as JSON), and so did the Python one.
    [event] = map(json.loads, (backend / "hook_events.jsonl").read_text(encoding="utf-8").splitlines())
    assert event["hook_event_name"] == "PreToolUse" and event["tool_name"] == "Write"
    assert "Write" in hooks.TOOLS_SEEN
    [finished] = h.of(StepFinished, "implement")
    assert finished.status == "succeeded"
