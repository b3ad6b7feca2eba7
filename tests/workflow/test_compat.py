"""pipeline_ex files validate: their spellings are mapped, their no-op keys warn, gemini steps are refused."""

from __future__ import annotations

import pytest

from engine.workflow import load_workflow

from .conftest import SHARED_EXAMPLES

EXAMPLES = ["claude_batch_example", "claude_robust_example", "claude_session_example", "claude_smart_example"]


def _example(name: str):
    path = SHARED_EXAMPLES / f"{name}.yaml"
    if not path.exists():
        pytest.skip(f"the pipeline_ex examples are not beside the checkout ({SHARED_EXAMPLES})")
    return load_workflow(path)


@pytest.mark.parametrize("name", EXAMPLES)
def test_pipeline_ex_example_has_warnings_only_apart_from_gemini(name):
    result = _example(name)
    assert result.warnings
    unsupported = [e for e in result.errors if "step type 'gemini' is not supported" in e.message]
    assert result.errors == unsupported
    if name == "claude_smart_example":
        (error,) = result.errors
        assert (error.line, error.path) == (11, "steps[0].type")
        assert error.message.startswith(
            "step type 'gemini' is not supported: this runner runs Claude steps (claude, claude_smart, "
        )
    else:
        assert result.workflow is not None


def test_graceful_degradation_is_refused_with_the_reason():
    result = _example("claude_robust_example")
    (warning,) = [w for w in result.warnings if "graceful_degradation" in w.message]
    assert warning.message == (
        "fallback_action 'graceful_degradation' is refused: in the original it returned a fake success; "
        "here a step that fails after its retries fails"
    )
    assert (warning.line, warning.path) == (14, "steps[0].retry_config.fallback_action")


def test_robust_example_maps_pipeline_ex_retry_spellings():
    workflow = _example("claude_robust_example").workflow
    first, _, third, _ = workflow.steps
    # step-level retry_config wins over claude_options.retry_config, over the production preset.
    assert first.retry_config.max_retries == 3
    assert first.retry_config.backoff == "exponential"
    assert set(first.retry_config.retry_on) == {"timeout", "server_error", "overloaded", "rate_limit"}
    assert first.claude_options.retry_config == first.retry_config
    assert first.claude_options.timeout_seconds == 5
    assert first.claude_options.fallback_model is not None  # from the production preset
    assert "max_turns" not in third.retry_config.retry_on


def test_batch_example_maps_task_ids_timeouts_and_presets():
    workflow = _example("claude_batch_example").workflow
    first, second, third = workflow.steps
    assert [task.id for task in first.tasks] == ["addition", "multiplication", "division"]
    assert first.batch_config.timeout_per_task_seconds == 10
    assert first.claude_options.max_turns == 1  # the user's option wins over the development preset
    assert "Bash" in first.claude_options.allowed_tools  # the rest comes from the preset
    assert second.claude_options.allowed_tools == ("Read", "Glob", "Grep")
    # The step's prompt is shared: it comes before each task's own.
    assert [part.content for part in third.tasks[0].prompt] == [
        "What is the most important concept in this field? Answer in one sentence.",
        "Field: Computer Programming",
    ]


def test_session_example_keeps_one_session():
    workflow = _example("claude_session_example").workflow
    assert {step.session_config.session_name for step in workflow.steps} == {"math_tutor"}


def test_each_no_op_key_gives_one_warning_line(load):
    result = load(
        """\
        workflow:
          name: w
          checkpoint_enabled: true
          defaults:
            claude_output_format: json
            claude_preset: chat
          steps:
            - name: a
              type: claude_smart
              role: muscle
              claude_options:
                verbose: true
                output_format: json
                cwd: /srv/elsewhere
              prompt: hi
        """
    )
    assert result.ok
    assert [(w.line, w.path) for w in result.warnings] == [
        (3, "checkpoint_enabled"),
        (5, "defaults.claude_output_format"),
        (10, "steps[0].role"),
        (12, "steps[0].claude_options.verbose"),
        (13, "steps[0].claude_options.output_format"),
        (14, "steps[0].claude_options.cwd"),
    ]
    assert "outside the workspace" in result.warnings[-1].message
    assert result.workflow.steps[0].preset == "chat"
    assert result.workflow.steps[0].claude_options.allowed_tools == ()


def test_pipeline_ex_condition_is_read_as_a_field_of_the_earlier_result(load):
    result = load(
        """\
        workflow:
          name: w
          steps:
            - {name: check_quality, type: claude, prompt: hi}
            - name: fix
              type: claude
              condition: "check_quality.needs_fixes and 'a.b' != 'x'"
              prompt: fix
        """
    )
    assert result.ok, result.errors
    assert result.workflow.steps[1].condition == "steps.check_quality.data.needs_fixes and 'a.b' != 'x'"


def test_step_level_preset_and_retry_config_on_a_plain_claude_step(load):
    result = load(
        """\
        workflow:
          name: w
          steps:
            - name: a
              type: claude
              preset: production
              retry_config: {max_retries: 5, backoff_strategy: fixed}
              prompt: hi
        """
    )
    options = result.workflow.steps[0].claude_options
    assert options.max_turns == 10 and options.allowed_tools == ("Read",)
    assert options.retry_config.max_retries == 5 and options.retry_config.backoff == "fixed"
