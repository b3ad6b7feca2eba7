"""claude_options.executor: validation says which options each executor honours."""

from __future__ import annotations

import importlib.util

import pytest

CLAUDE_CODE_OPTIONS = """\
workflow:
  name: w
  workspace_dir: ./workspace
  defaults:
    claude_options: {executor: EXECUTOR}
  steps:
    - name: a
      type: claude
      claude_options:
        cwd: ./workspace/backend
        permission_mode: accept_edits
        mcp_servers: {files: {command: npx, args: [files-server]}}
        agents: {reviewer: {description: Reviews code, prompt: You review code.}}
        hooks: {PreToolUse: [{matcher: Write, command: "echo hi"}]}
        setting_sources: []
        max_budget_usd: 1.5
        sandbox: off
      prompt: hi
"""


def test_the_api_executor_warns_on_each_claude_code_option(load):
    result = load(CLAUDE_CODE_OPTIONS.replace("EXECUTOR", "api"))
    assert result.ok, [str(e) for e in result.errors]
    honoured = "honoured only by executor: claude_code"
    keys = ("cwd", "permission_mode", "mcp_servers", "agents", "hooks", "setting_sources", "max_budget_usd")
    assert [w.path for w in result.warnings if honoured in w.message] == [
        f"steps[0].claude_options.{key}" for key in keys
    ]
    options = result.workflow.steps[0].claude_options
    assert options.executor == "api" and options.cwd == "backend"  # kept, relative to the workspace
    assert options.agents["reviewer"].description == "Reviews code"
    assert options.hooks["PreToolUse"][0].command == "echo hi"


def test_the_claude_code_executor_takes_them_and_warns_on_the_api_only_ones(load):
    result = load(CLAUDE_CODE_OPTIONS.replace("EXECUTOR", "claude_code"))
    assert result.ok, [str(e) for e in result.errors]
    messages = [w.message for w in result.warnings if "not installed" not in w.message]
    assert messages == [
        "'sandbox' is ignored by executor: claude_code: Claude Code runs its own tools "
        "(its sandbox is set in its settings)"
    ]
    assert result.workflow.steps[0].claude_options.executor == "claude_code"


def test_a_cwd_outside_the_workspace_is_ignored_with_a_warning(load):
    text = CLAUDE_CODE_OPTIONS.replace("EXECUTOR", "claude_code").replace("./workspace/backend", "/etc")
    result = load(text)
    assert result.ok
    assert any("'cwd' '/etc' (outside the workspace) is ignored" in w.message for w in result.warnings)
    assert result.workflow.steps[0].claude_options.cwd is None


@pytest.mark.skipif(importlib.util.find_spec("claude_agent_sdk") is not None, reason="the extra is installed")
def test_validation_says_when_the_extra_is_missing(load):
    result = load(CLAUDE_CODE_OPTIONS.replace("EXECUTOR", "claude_code"))
    assert any("pip install 'pipeline[claude-code]'" in w.message for w in result.warnings)


def test_an_unknown_executor_is_an_error(load):
    result = load(CLAUDE_CODE_OPTIONS.replace("EXECUTOR", "codex"))
    assert not result.ok and "executor" in str(result.errors[0])
