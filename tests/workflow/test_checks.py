"""Cross-checks that are warnings, or that need more than one key: what a user would trip over."""

from __future__ import annotations

from pathlib import Path

from engine.workflow import parse_workflow


def _one_step(body: str) -> str:
    return "workflow:\n  name: w\n  steps:\n    - name: a\n" + body


def test_missing_prompt_file_is_a_warning_that_says_why(tmp_path: Path):
    result = parse_workflow(_one_step(
        "      type: claude\n      prompt:\n        - {type: file, path: nope.md}\n"
    ))
    assert result.ok
    (warning,) = result.warnings
    assert (warning.line, warning.col, warning.path) == (7, 30, "steps[0].prompt[0].path")
    assert "fine if an earlier step writes it" in warning.message


def test_prompt_file_beside_the_workflow_is_found(tmp_path: Path):
    (tmp_path / "notes.md").write_text("notes")
    flow = tmp_path / "flow.yaml"
    flow.write_text(_one_step("      type: claude\n      prompt: [{type: file, path: notes.md}]\n"))
    from engine.workflow import load_workflow

    assert load_workflow(flow).warnings == []


def test_options_for_a_handler_the_step_does_not_use_warn():
    result = parse_workflow(
        _one_step(
            "      type: claude\n      claude_options:\n        stream_handler: console\n"
            "        stream_handler_opts: {file: {path: x.txt}}\n      prompt: hi\n"
        )
    )
    assert result.ok
    (warning,) = result.warnings
    assert "options for the 'file' handler, which this step does not use" in warning.message


def test_importable_callback_passes(tmp_path: Path):
    result = parse_workflow(
        _one_step(
            "      type: claude\n      claude_options:\n        stream_handler: callback\n"
            "        stream_handler_opts: {callback: 'json:dumps', on_complete: 'json:loads'}\n"
            "      prompt: hi\n"
        )
    )
    assert result.ok, result.errors


def test_callback_reference_must_name_module_and_function():
    result = parse_workflow(
        _one_step(
            "      type: claude\n      claude_options:\n        stream_handler: callback\n"
            "        stream_handler_opts: {callback: 'just_a_module'}\n      prompt: hi\n"
        )
    )
    assert "'just_a_module' is not a 'package.module:function' reference" in str(result.errors[0])


def test_unknown_template_words_are_left_alone_with_a_warning():
    result = parse_workflow(_one_step(
        "      type: claude\n      prompt: 'Render {{ user_name }} in Jinja'\n"
    ))
    assert result.ok
    assert "is not a template reference (steps, vars, item) and is left as is" in result.warnings[0].message


def test_misspelt_template_head_is_an_error():
    result = parse_workflow(
        "workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi}\n"
        "    - {name: b, type: claude, prompt: '{{step.a.text}}'}\n"
    )
    assert "unknown template reference {{step.a.text}}; did you mean 'steps'?" in result.errors[0].message


def test_reference_to_an_unsupported_step_is_not_a_second_error():
    result = parse_workflow(
        "workflow:\n  name: w\n  steps:\n    - {name: g, type: gemini}\n"
        "    - {name: b, type: claude, prompt: [{type: previous_response, step: g}]}\n"
    )
    assert len(result.errors) == 1 and "gemini" in result.errors[0].message


def test_batch_with_tasks_and_items_is_refused():
    result = parse_workflow(
        _one_step("      type: claude_batch\n      items: [x]\n      tasks: [{id: t, prompt: hi}]\n"
                  "      prompt: '{{item}}'\n")
    )
    assert "give either tasks or items, not both" in result.errors[0].message


def test_schema_with_a_non_json_format_warns():
    result = parse_workflow(
        _one_step("      type: claude_extract\n"
                  "      extraction_config: {format: text, schema: {type: object}}\n"
                  "      prompt: hi\n")
    )
    assert result.ok
    assert result.warnings[0].message == "schema is only used with format: json"


def test_session_context_may_name_a_session_defined_later():
    result = parse_workflow(
        "workflow:\n  name: w\n  steps:\n"
        "    - {name: a, type: claude, prompt: [{type: session_context, session_name: s}]}\n"
        "    - {name: b, type: claude_session, session_config: {session_name: s}, prompt: hi}\n"
    )
    assert result.ok, result.errors


def test_unknown_post_processing_is_a_warning_with_a_suggestion(tmp_path):
    from engine.workflow import load_workflow

    path = tmp_path / "w.yaml"
    path.write_text(
        "workflow:\n  name: w\n  steps:\n    - name: a\n      type: claude_extract\n"
        "      extraction_config:\n        format: markdown\n"
        "        post_processing: [extract_code_block]\n      prompt: hi\n",
        encoding="utf-8",
    )
    result = load_workflow(path)
    assert not result.errors
    [warning] = result.warnings
    assert (warning.line, warning.col) == (8, 27)
    assert "did you mean 'extract_code_blocks'" in str(warning)
