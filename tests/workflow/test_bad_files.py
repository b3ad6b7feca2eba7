"""Bad workflow files: each gives one located, one-line error that makes the fix obvious."""

from __future__ import annotations

import pytest

# (id, file text, line, column, part of the message). The first error reported must match.
BAD_FILES = [
    (
        "misspelt-option",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handlr: console
              prompt: hi
        """,
        7, 9,
        "steps[0].claude_options.stream_handlr: unknown key 'stream_handlr'; did you mean 'stream_handler'?",
    ),
    (
        "misspelt-handler",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {stream_handler: consle}
              prompt: hi
        """,
        6, 40, "expected console, file, buffer or callback, got 'consle'; did you mean 'console'?",
    ),
    (
        "misspelt-handler-in-list",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: [console, fiel]
              prompt: hi
        """,
        7, 35,
        "steps[0].claude_options.stream_handler[1]: expected console, file, buffer or callback, got 'fiel'; "
        "did you mean 'file'?",
    ),
    (
        "misspelt-step-type",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claud
              prompt: hi
        """,
        5, 13, "steps[0].type: unknown step type 'claud'; did you mean 'claude'?",
    ),
    (
        "gemini-step",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: gemini
              prompt: hi
        """,
        5, 13, "step type 'gemini' is not supported: this runner runs Claude steps (claude, claude_smart,",
    ),
    (
        "set-variable-step",
        """\
        workflow:
          name: w
          steps:
            - {name: a, type: set_variable}
        """,
        4, 23, "step type 'set_variable' is not supported",
    ),
    (
        "step-without-name",
        """\
        workflow:
          name: w
          steps:
            - type: claude
              prompt: hi
        """,
        4, 7, "steps[0]: missing required key 'name'",
    ),
    (
        "step-without-type",
        """\
        workflow:
          name: w
          steps:
            - name: a
              prompt: hi
        """,
        4, 7, "steps[0]: missing required key 'type'; expected claude, claude_smart,",
    ),
    (
        "workflow-without-steps",
        """\
        workflow:
          name: w
        """,
        2, 3, "workflow: missing required key 'steps'",
    ),
    (
        "empty-steps",
        """\
        workflow:
          name: w
          steps: []
        """,
        3, 10, "steps: must not be empty",
    ),
    (
        "workflow-without-name",
        """\
        workflow:
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        2, 3, "workflow: missing required key 'name'",
    ),
    (
        "keys-outside-workflow",  # pipeline_ex's generated form
        """\
        name: w
        steps: []
        """,
        # Read as the workflow itself (pipeline_ex's generated form), with a warning.
        2, 8, "steps: must not be empty",
    ),
    (
        "workflow-is-text",
        """\
        workflow: my flow
        """,
        1, 11, "workflow: expected a mapping, got 'my flow'",
    ),
    (
        "duplicate-step-name",
        """\
        workflow:
          name: w
          steps:
            - {name: a, type: claude, prompt: hi}
            - {name: a, type: claude, prompt: again}
        """,
        5, 14, "steps[1].name: duplicate step name 'a' (also steps[0])",
    ),
    (
        "previous-response-unknown-step",
        """\
        workflow:
          name: w
          steps:
            - {name: draft, type: claude, prompt: hi}
            - name: b
              type: claude
              prompt:
                - {type: previous_response, step: draf}
        """,
        8, 43, "no step named 'draf'; did you mean 'draft'?",
    ),
    (
        "previous-response-later-step",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              prompt:
                - type: previous_response
                  step: b
            - {name: b, type: claude, prompt: hi}
        """,
        8, 17, "step 'b' comes later (steps[1]); a step can only use earlier steps",
    ),
    (
        "template-unknown-step",
        """\
        workflow:
          name: w
          steps:
            - {name: first, type: claude, prompt: hi}
            - name: b
              type: claude
              prompt: "Improve this: {{steps.frist.text}}"
        """,
        7, 30, "no step named 'frist'; did you mean 'first'?",
    ),
    (
        "template-in-block-text",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              prompt: |
                Line one.
                Then {{steps.a.text}} here.
        """,
        8, 14, "step 'a' refers to itself",
    ),
    (
        "template-missing-var",
        """\
        workflow:
          name: w
          vars: {topic: x}
          steps:
            - {name: a, type: claude, prompt: "About {{vars.topik}}"}
        """,
        5, 46,
        "no value for {{vars.topik}}: set it in workflow.vars or pass --var topik=VALUE; "
        "did you mean 'topic'?",
    ),
    (
        "item-outside-batch",
        """\
        workflow:
          name: w
          steps:
            - {name: a, type: claude, prompt: "Define {{item}}"}
        """,
        4, 47, "{{item}} is only filled in claude_batch steps that have items",
    ),
    (
        "unknown-template-attribute",
        """\
        workflow:
          name: w
          steps:
            - {name: a, type: claude, prompt: hi}
            - {name: b, type: claude, prompt: "{{steps.a.txt}}"}
        """,
        5, 40,
        "'txt' is not part of a step result: use text, data.FIELD, status, reason; did you mean 'text'?",
    ),
    (
        "unknown-session",
        """\
        workflow:
          name: w
          steps:
            - name: s
              type: claude_session
              session_config: {session_name: tutor}
              prompt: hi
            - name: b
              type: claude
              prompt:
                - type: session_context
                  session_name: tutr
        """,
        12, 25, "no claude_session step uses session_name 'tutr'; did you mean 'tutor'?",
    ),
    (
        "unknown-tool",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                allowed_tools: [Read, Serch]
              prompt: hi
        """,
        7, 31, "allowed_tools[1]: expected Read, Write, Edit, Glob, Grep, LS or Bash, got 'Serch'",
    ),
    (
        "tool-wrong-case",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                disallowed_tools: [bash]
              prompt: hi
        """,
        7, 28, "got 'bash'; did you mean 'Bash'?",
    ),
    (
        "bad-stop-on-regex",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stop_on: ["ok", "(unclosed"]
              prompt: hi
        """,
        7, 25, "stop_on[1]: not a valid regular expression: missing ), unterminated subpattern at position 0",
    ),
    (
        "stream-buffer-size-zero",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_buffer_size: 0
              prompt: hi
        """,
        7, 29, "stream_buffer_size: must be at least 1, got 0",
    ),
    (
        "callback-not-importable",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: callback
                stream_handler_opts:
                  callback: "no_such_module_xyz:on_chunk"
              prompt: hi
        """,
        9, 21, "'no_such_module_xyz:on_chunk' cannot be imported: ModuleNotFoundError",
    ),
    (
        "callback-missing-function",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: [console, callback]
                stream_handler_opts: {callback: {callback: "json:no_such_function"}}
              prompt: hi
        """,
        8, 52, "'json:no_such_function': module 'json' has no function 'no_such_function'",
    ),
    (
        "callback-handler-without-callback",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: callback
              prompt: hi
        """,
        7, 25, "the callback handler needs stream_handler_opts.callback: 'package.module:function'",
    ),
    (
        "max-tokens-not-a-number",
        """\
        workflow:
          name: w
          defaults:
            claude_options: {max_tokens: lots}
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        4, 34, "defaults.claude_options.max_tokens: expected a whole number, got 'lots'",
    ),
    (
        "negative-budget",
        """\
        workflow:
          name: w
          budget_usd: -1
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 15, "budget_usd: must be greater than 0, got -1",
    ),
    (
        "bad-on-error",
        """\
        workflow:
          name: w
          on_error: halt
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 13, "on_error: expected stop or continue, got 'halt'",
    ),
    (
        "misspelt-preset",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_smart
              preset: developmnt
              prompt: hi
        """,
        6, 15, "preset: expected development, production, analysis, chat or test, got 'developmnt'; "
        "did you mean 'development'?",
    ),
    (
        "misspelt-backoff",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_robust
              retry_config: {max_retries: 2, backoff: expo}
              prompt: hi
        """,
        6, 47, "expected exponential, linear or fixed, got 'expo'; did you mean 'exponential'?",
    ),
    (
        "misspelt-retry-reason",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                retry_config:
                  retry_on: [ratelimit]
              prompt: hi
        """,
        8, 22, "retry_on[0]: expected rate_limit, overloaded, server_error, timeout, connection or "
        "incomplete_stream, got 'ratelimit'; did you mean 'rate_limit'?",
    ),
    (
        "batch-without-tasks-or-items",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_batch
              prompt: hi
        """,
        4, 7, "a claude_batch step needs tasks, or items and a prompt using {{item}}",
    ),
    (
        "batch-items-without-item",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_batch
              items: [x, y]
              prompt: "Define it."
        """,
        7, 15, "the prompt never uses {{item}}, so every item would get the same prompt",
    ),
    (
        "parallel-duplicate-task-id",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: parallel_claude
              parallel_tasks:
                - {id: one, prompt: hi}
                - {id: one, prompt: again}
        """,
        8, 16, "duplicate task id 'one' (also parallel_tasks[0])",
    ),
    (
        "extract-bad-json-schema",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_extract
              extraction_config:
                schema:
                  type: objekt
              prompt: hi
        """,
        8, 17,
        "extraction_config.schema.type: not a valid JSON Schema: 'objekt' is not valid under any of the "
        "given schemas",
    ),
    (
        "thinking-above-max-tokens",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_tokens: 2000, thinking: 4000}
              prompt: hi
        """,
        6, 52, "thinking budget 4000 must be below max_tokens 2000",
    ),
    (
        "output-file-escapes",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              output_to_file: ../../etc/out.md
              prompt: hi
        """,
        6, 23, "output_to_file: must be a relative path inside the run's output folder",
    ),
    (
        "condition-unknown-step",
        """\
        workflow:
          name: w
          steps:
            - {name: check, type: claude, prompt: hi}
            - name: fix
              type: claude
              condition: "steps.chek.data.needs_fixes"
              prompt: fix it
        """,
        7, 19, "no step named 'chek'; did you mean 'check'?",
    ),
    (
        "condition-syntax",
        """\
        workflow:
          name: w
          steps:
            - {name: check, type: claude, prompt: hi}
            - name: fix
              type: claude
              condition: "steps.check.text =="
              prompt: fix it
        """,
        7, 18, "condition: condition 'steps.check.text ==' is not a valid expression: invalid syntax",
    ),
    (
        "misspelt-prompt-part-type",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              prompt:
                - {type: statik, content: hi}
        """,
        7, 18,
        "unknown prompt part type 'statik'; expected static, file, previous_response or session_context; "
        "did you mean 'static'?",
    ),
    (
        "prompt-part-without-type",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              prompt:
                - content: hi
        """,
        7, 11, "prompt[0]: missing required key 'type'",
    ),
    (
        "misspelt-file-handler-option",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: file
                stream_handler_opts:
                  file: {pth: out.txt}
              prompt: hi
        """,
        9, 18, "stream_handler_opts.file.pth: unknown key 'pth'; did you mean 'path'?",
    ),
    (
        "misspelt-flat-handler-option",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler_opts: {show_tool: false}
              prompt: hi
        """,
        7, 31, "unknown stream handler option 'show_tool'; did you mean 'show_tools'?",
    ),
    (
        "bad-file-format",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handler: file
                stream_handler_opts: {format: json}
              prompt: hi
        """,
        8, 39, "stream_handler_opts.format: expected text or jsonl, got 'json'",
    ),
    (
        "both-spellings",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {timeout_seconds: 5, timeout_ms: 5000}
              prompt: hi
        """,
        6, 44, "give either 'timeout_seconds' or 'timeout_ms' (its pipeline_ex spelling)",
    ),
    (
        "claude-code-permission-rule",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                allowed_tools: [Read, "Bash(git:*)"]
              prompt: hi
        """,
        7, 31, "steps[0].claude_options.allowed_tools[1]: 'Bash(git:*)' is a Claude Code permission rule, "
        "which this runner cannot honour: a tool here is allowed whole or not at all; list 'Bash' "
        "(confined to workspace_dir) or leave it out",
    ),
    (
        "option-on-the-step",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              stream_handler: console
              prompt: hi
        """,
        6, 7, "steps[0].stream_handler: 'stream_handler' belongs under claude_options",
    ),
    (
        "step-key-under-options",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options:
                prompt: hi
        """,
        7, 9, "steps[0].claude_options.prompt: 'prompt' belongs on the step, not under claude_options",
    ),
    (
        "step-name-with-space",
        """\
        workflow:
          name: w
          steps:
            - {name: "my step", type: claude, prompt: hi}
        """,
        4, 14, "'my step' is not a valid name: use letters, digits, '_' and '-'",
    ),
    (
        "name-is-a-boolean",
        """\
        workflow:
          name: yes
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        2, 9, "name: expected text, got true",
    ),
    (
        "session-without-name",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_session
              session_config: {persist: true}
              prompt: hi
        """,
        6, 23, "session_config: missing required key 'session_name'",
    ),
    (
        "empty-prompt",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              prompt: []
        """,
        6, 15, "prompt is empty",
    ),
    (
        "step-without-prompt",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_robust
        """,
        4, 7, "steps[0]: missing required key 'prompt'",
    ),
    (
        "batch-task-without-prompt",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude_batch
              tasks:
                - task_id: one
        """,
        7, 11, "this task has no prompt (and the step has none to share)",
    ),
    # Strict types and bounds (issue 11): no coercion, nothing unbounded, nothing infinite.
    (
        "max-tokens-true",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_tokens: true}
              prompt: hi
        """,
        6, 36,
        'steps[0].claude_options.max_tokens: expected a whole number, got true',
    ),
    (
        "max-turns-as-text",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_turns: "5"}
              prompt: hi
        """,
        6, 35,
        "steps[0].claude_options.max_turns: expected a whole number, got '5'",
    ),
    (
        "stream-buffer-size-yes",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {stream_buffer_size: yes}
              prompt: hi
        """,
        6, 44,
        'steps[0].claude_options.stream_buffer_size: expected a whole number, got true',
    ),
    (
        "max-tokens-above-the-model-limit",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_tokens: 200000}
              prompt: hi
        """,
        6, 36,
        'steps[0].claude_options.max_tokens: must be at most 128000, got 200000',
    ),
    (
        "max-tokens-huge",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_tokens: 1000000000000000000000000000000}
              prompt: hi
        """,
        6, 36,
        'steps[0].claude_options.max_tokens: must be at most 128000, got 1000000000000000000000000000000',
    ),
    (
        "max-tokens-float",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {max_tokens: 100.0}
              prompt: hi
        """,
        6, 36,
        'steps[0].claude_options.max_tokens: expected a whole number, got 100.0',
    ),
    (
        "timeout-nan",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {timeout_seconds: .nan}
              prompt: hi
        """,
        6, 41,
        'steps[0].claude_options.timeout_seconds: expected a finite number, got nan',
    ),
    (
        "idle-timeout-infinite",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {idle_timeout_seconds: .inf}
              prompt: hi
        """,
        6, 46,
        'steps[0].claude_options.idle_timeout_seconds: expected a finite number, got inf',
    ),
    (
        "idle-timeout-as-text",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {idle_timeout_seconds: "10"}
              prompt: hi
        """,
        6, 46,
        "steps[0].claude_options.idle_timeout_seconds: expected a number, got '10'",
    ),
    (
        "show-tools-as-number",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {stream_handler_opts: {show_tools: 1}}
              prompt: hi
        """,
        6, 58,
        'steps[0].claude_options.stream_handler_opts.show_tools: expected true or false, got 1',
    ),
    (
        "base-delay-unbounded",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {retry_config: {base_delay_ms: 99999999999}}
              prompt: hi
        """,
        6, 54,
        'steps[0].claude_options.retry_config.base_delay_ms: must be at most 300000, got 99999999999',
    ),
    (
        "max-delay-unbounded",
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              claude_options: {retry_config: {max_delay_ms: 86400000}}
              prompt: hi
        """,
        6, 53,
        'steps[0].claude_options.retry_config.max_delay_ms: must be at most 300000, got 86400000',
    ),
    (
        "budget-infinite",
        """\
        workflow:
          name: w
          budget_usd: .inf
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 15,
        'budget_usd: expected a finite number, got inf',
    ),
    (
        "budget-nan",
        """\
        workflow:
          name: w
          budget_usd: .nan
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 15,
        'budget_usd: expected a finite number, got nan',
    ),
    # workspace_dir (issue 11): tools must not reach every file, the user's files or the run records.
    (
        "workspace-is-the-root",
        """\
        workflow:
          name: w
          workspace_dir: "/"
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 18,
        "workspace_dir: workspace_dir '/' is the filesystem root: tools could read and change every file",
    ),
    (
        "workspace-contains-the-current-folder",
        """\
        workflow:
          name: w
          workspace_dir: ".."
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 18,
        "workspace_dir: workspace_dir '..' contains the current folder: tools could reach the workflow and "
        "its run records; use a folder of its own such as ./workspace",
    ),
    (
        "workspace-is-the-current-folder",
        """\
        workflow:
          name: w
          workspace_dir: "."
          steps:
            - {name: a, type: claude, prompt: hi}
        """,
        3, 18,
        "workspace_dir: workspace_dir '.' contains the current folder",
    ),
]


@pytest.mark.parametrize(("text", "line", "col", "message"), [case[1:] for case in BAD_FILES],
                         ids=[case[0] for case in BAD_FILES])
def test_bad_file_gives_a_located_one_line_error(load, text, line, col, message):
    result = load(text)
    assert result.workflow is None and result.errors
    error = result.errors[0]
    rendered = str(error)
    assert message in rendered, "\n".join(map(str, result.errors))
    assert (error.line, error.col) == (line, col), rendered
    assert rendered.startswith(f"{error.file}:{line}:{col}: ")
    assert "\n" not in rendered


def test_a_prompt_under_options_is_not_also_reported_missing(load):
    """One mistake, one error: the misplaced prompt, not a second 'missing prompt' on the step."""
    result = load(dict((case[0], case[1]) for case in BAD_FILES)["step-key-under-options"])
    assert [(error.line, error.col) for error in result.errors] == [(7, 9)]


def test_all_errors_are_reported_at_once_in_file_order(load):
    result = load(
        """\
        workflow:
          name: w
          on_error: halt
          steps:
            - name: a
              type: claude
              claude_options:
                stream_handlr: console
                max_tokens: -5
              prompt: "{{vars.missing}}"
            - name: b
              type: claud
        """
    )
    lines = [(d.line, d.path) for d in result.errors]
    assert lines == [
        (3, "on_error"),
        (8, "steps[0].claude_options.stream_handlr"),
        (9, "steps[0].claude_options.max_tokens"),
        (10, "steps[0].prompt"),
        (12, "steps[1].type"),
    ]


def test_a_mistake_in_defaults_is_reported_once_not_per_step(load):
    result = load(
        """\
        workflow:
          name: w
          defaults:
            claude_options: {stream_handler: consle}
          steps:
            - {name: a, type: claude, prompt: hi}
            - {name: b, type: claude, prompt: hi}
            - {name: c, type: claude, prompt: hi}
        """
    )
    assert [d.line for d in result.errors] == [4]
