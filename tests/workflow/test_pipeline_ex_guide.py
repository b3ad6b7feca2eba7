"""pipeline_ex files written from its configuration guide (PIPELINE_CONFIG_GUIDE.md): every key the guide
documents is known here, with an effect, a warning saying it has none, or a refusal with the reason.
Files that use only Claude step types validate (warnings allowed)."""

from __future__ import annotations

import json
import textwrap

import pytest

from tests.engine.cli_support import run

# Every workflow-level, defaults, step and claude_options key of the guide's schema reference.
EVERY_KEY = """\
version: "1.0"
workflow:
  name: "guide_every_key"
  checkpoint_enabled: true
  workspace_dir: "./workspace"
  checkpoint_dir: "./checkpoints"
  claude_auth: {auto_check: true, provider: anthropic, fallback_mock: false, diagnostics: true}
  environment:
    mode: development
    debug_level: basic
    cost_alerts: {enabled: true, threshold_usd: 5.0, notify_on_exceed: true}
  defaults:
    gemini_model: "gemini-2.5-flash"
    gemini_token_budget: {max_output_tokens: 2048, temperature: 0.7, top_p: 0.95, top_k: 40}
    claude_output_format: "json"
    claude_preset: "analysis"
    output_dir: "./outputs/guide"
  gemini_functions:
    evaluate_code: {description: "Evaluate code", parameters: {type: object}}
  steps:
    - name: "check"
      type: "claude"
      role: "muscle"
      output_to_file: "check.json"
      claude_options:
        max_turns: 15
        output_format: "json"
        verbose: true
        allowed_tools: ["Write", "Edit", "Read", "Bash", "Search"]
        disallowed_tools: ["Bash"]
        system_prompt: "You review code."
        append_system_prompt: "Focus on clean code"
        cwd: "./workspace/project"
        permission_mode: "accept_edits"
        permission_prompt_tool: "approve"
        mcp_config: "mcp.json"
        session_id: "abc"
        resume_session: true
        retry_config: {max_retries: 2, backoff_strategy: "linear", retry_on: ["timeout", "api_error"]}
        timeout_ms: 60000
        debug_mode: true
        telemetry_enabled: true
        cost_tracking: true
      prompt:
        - type: "static"
          content: "Review the code. Set needs_fixes=true if issues are found."
    - name: "fix"
      type: "claude"
      condition: "check.needs_fixes"
      prompt:
        - type: "previous_response"
          step: "check"
          extract: "issues"
          extract_with: "content_extractor"
          summary: true
          max_length: 2000
"""

# One step of each Claude type with the keys the guide gives it.
EVERY_STEP_TYPE = """\
workflow:
  name: "guide_every_step_type"
  steps:
    - name: "smart"
      type: "claude_smart"
      preset: "production"
      environment_aware: true
      prompt: [{type: static, content: "Plan it"}]
    - name: "smart_default"
      type: "claude_smart"
      prompt: "No preset: development, as in pipeline_ex"
    - name: "extract"
      type: "claude_extract"
      extraction_config:
        use_content_extractor: true
        format: "structured"
        post_processing: ["extract_code_blocks", "extract_links"]
        max_summary_length: 500
        include_metadata: true
      prompt: [{type: previous_response, step: smart}]
    - name: "tutor"
      type: "claude_session"
      session_config:
        persist: true
        session_name: "tutor"
        continue_on_restart: true
        checkpoint_frequency: 3
        description: "A tutoring session"
      prompt: "Teach me"
    - name: "recall"
      type: "claude"
      prompt:
        - {type: session_context, session_id: "tutor", include_last_n: 2}
        - {type: static, content: "What next?"}
    - name: "batch"
      type: "claude_batch"
      batch_config: {max_parallel: 2, timeout_per_task: 30000, consolidate_results: true}
      tasks:
        - {file: "README.md", prompt: "Summarise this file"}
        - {file: "README.md"}
        - {task_id: "third", prompt: "Something else"}
    - name: "robust"
      type: "claude_robust"
      retry_config:
        max_retries: 3
        backoff_strategy: "exponential"
        retry_conditions: ["timeout", "api_error"]
        fallback_action: "use_cached_response"
      prompt: "Try hard"
    - name: "parallel"
      type: "parallel_claude"
      parallel_tasks:
        - id: "backend"
          claude_options: {max_turns: 15, cwd: "./workspace/backend"}
          prompt: [{type: static, content: "Implement REST API"}]
          output_to_file: "backend.json"
        - id: "frontend"
          claude_options: {max_turns: 15, cwd: "./workspace/frontend"}
          prompt: [{type: static, content: "Implement React UI"}]
          output_to_file: "frontend.json"
"""

# Claude Code (Agent SDK) options and tools, as pipeline_ex passes them through.
CLAUDE_CODE = """\
workflow:
  name: "claude_code_options"
  steps:
    - name: "code"
      type: "claude"
      claude_options:
        allowed_tools:
          [Read, Write, MultiEdit, NotebookRead, Task, WebFetch, WebSearch, TodoWrite, mcp__git__log]
        mcp_servers: {git: {command: "git-mcp"}}
        agents: {reviewer: {description: "Reviews", prompt: "Review"}}
        hooks: {PreToolUse: [{matcher: Bash, hooks: [{type: command, command: "rm -rf /"}]}]}
        enable_skills: true
        setting_sources: [user, project]
      prompt: "Write the code"
"""

# pipeline_ex's generated form: no top-level `workflow:` key.
BARE = """\
version: "2"
name: "generated"
steps:
  - {name: "one", type: "claude", prompt: "hi"}
"""


@pytest.mark.parametrize("text", [EVERY_KEY, EVERY_STEP_TYPE, CLAUDE_CODE, BARE],
                         ids=["every-key", "every-step-type", "claude-code", "bare"])
def test_guide_files_validate_with_warnings_only(load, text, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("read me")
    result = load(text)
    assert result.ok, "\n".join(map(str, result.errors))
    assert result.warnings
    assert all("\n" not in str(warning) for warning in result.warnings)


def test_every_guide_key_without_an_effect_warns_once_and_says_why(load):
    warned = {d.path.rsplit(".", 1)[-1] for d in load(EVERY_KEY).warnings}
    for key in [
        "version", "checkpoint_enabled", "checkpoint_dir", "claude_auth", "environment", "gemini_model",
        "gemini_token_budget", "claude_output_format", "output_dir", "gemini_functions", "role",
        "output_format", "verbose", "cwd", "permission_mode", "permission_prompt_tool", "mcp_config",
        "session_id", "resume_session", "debug_mode", "telemetry_enabled", "cost_tracking",
        "extract_with", "summary", "max_length",
    ]:
        assert key in warned, key


def test_guide_keys_with_an_effect_take_it(load):
    workflow = load(EVERY_KEY).workflow
    check, fix = workflow.steps
    options = check.claude_options
    assert options.timeout_seconds == 60  # timeout_ms
    assert options.retry_config.backoff == "linear"
    assert set(options.retry_config.retry_on) == {"timeout", "server_error", "overloaded", "rate_limit"}
    assert options.allowed_tools == ("Write", "Edit", "Read", "Bash", "Grep")  # Search is read as Grep
    assert fix.condition == "steps.check.data.needs_fixes"


def test_every_step_type_takes_the_guide_keys(load, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "README.md").write_text("read me")
    steps = {step.name: step for step in load(EVERY_STEP_TYPE).workflow.steps}
    assert steps["smart_default"].preset == "development"
    assert steps["extract"].extraction_config.format == "json"  # structured
    assert steps["batch"].batch_config.timeout_per_task_seconds == 30
    ids = [task.id for task in steps["batch"].tasks]
    assert ids == ["task_0", "task_1", "third"]
    first, second, _ = steps["batch"].tasks
    assert [part.type for part in first.prompt] == ["file", "static"]
    assert second.prompt[1].content == "Analyze this file"  # pipeline_ex's default
    assert steps["robust"].retry_config.max_retries == 3


def test_claude_code_tools_are_read_as_ours_or_ignored_and_hooks_never_run(load):
    result = load(CLAUDE_CODE)
    assert result.workflow.steps[0].claude_options.allowed_tools == ("Read", "Write", "Edit")
    messages = [d.message for d in result.warnings]
    assert "tool 'MultiEdit' (Claude Code's) is read as 'Edit'" in messages
    # Hooks run under executor: claude_code only; under the api executor validation says so.
    hooks = [m for m in messages if m.startswith("'hooks' is honoured only by executor: claude_code")]
    assert len(hooks) == 1 and "the api executor ignores it" in hooks[0]
    assert sum("(Claude Code's) has no effect here" in m for m in messages) == 5


def test_the_bare_form_warns_that_it_is_read_as_the_workflow(load):
    result = load(BARE)
    assert result.workflow.name == "generated"
    assert [(d.line, d.message) for d in result.warnings] == [
        (1, "'version' (a pipeline_ex option) has no effect here and is ignored: "
            "this format has one version"),
        (1, "no top-level 'workflow:' key: the file is read as the workflow itself"),
    ]


def test_gemini_steps_are_refused_with_the_reason(load):
    result = load(EVERY_KEY.replace('type: "claude"\n      role', 'type: "gemini"\n      role', 1))
    assert "step type 'gemini' is not supported: this runner runs Claude steps" in result.errors[0].message


@pytest.mark.parametrize("text", [EVERY_KEY, EVERY_STEP_TYPE, CLAUDE_CODE, BARE],
                         ids=["every-key", "every-step-type", "claude-code", "bare"])
def test_guide_files_run_on_the_simulator(text, tmp_path):
    """What validates runs: each guide file through `pipeline run` against the embedded simulator."""
    (tmp_path / "README.md").write_text("read me")
    path = tmp_path / "flow.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    done = run(tmp_path, path, "--output-dir", str(tmp_path / "outputs"), timeout=240)
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    [run_dir] = (tmp_path / "outputs").iterdir()
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    assert record["status"] in ("succeeded", "interrupted"), (record["reason"], done.stdout[-2000:])
    assert done.returncode in (0, 3), done.stdout[-2000:] + done.stderr[-2000:]
