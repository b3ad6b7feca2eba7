"""A step type registered from outside the built-ins validates, gets the same diagnostics and appears in
the JSON Schema: validation reads the registry when a file is validated, not a list made at import."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import pytest
from pydantic import Field

from engine.workflow import parse_workflow
from engine.workflow.model import Int, StepBase, workflow_json_schema
from engine.workflow.registry import STEP_TYPES, StepType, register_step_type, unregister_step_type


class ToyStep(StepBase):
    """A toy step type, registered by the tests."""

    type: Literal["toy"]
    loudness: Int = Field(1, ge=1, le=10, description="How loud the toy is.")


@pytest.fixture
def toy() -> Iterator[StepType]:
    registered = register_step_type(StepType("toy", ToyStep, "tests.x:run"))
    yield registered
    unregister_step_type("toy")


def _flow(step: str) -> str:
    return "workflow:\n  name: w\n  steps:\n    - {name: a, type: claude, prompt: hi}\n" + step


def test_a_registered_step_type_validates_into_its_model(toy):
    step = "    - {name: b, type: toy, loudness: 3, prompt: 'after {{steps.a.text}}'}\n"
    result = parse_workflow(_flow(step))
    assert result.ok, "\n".join(map(str, result.errors))
    step = result.workflow.steps[1]
    assert isinstance(step, ToyStep) and step.loudness == 3
    assert STEP_TYPES[step.type] is toy  # what the runner looks up


@pytest.mark.parametrize(
    ("step", "line", "col", "message"),
    [
        ("    - {name: b, type: toyy, prompt: hi}\n", 5, 23, "steps[1].type: unknown step type 'toyy'; "
         "did you mean 'toy'?"),
        ("    - {name: b, type: toy, loudnes: 2, prompt: hi}\n", 5, 28,
         "steps[1].loudnes: unknown key 'loudnes'; did you mean 'loudness'?"),
        ("    - {name: b, type: toy, loudness: 11, prompt: hi}\n", 5, 38,
         "steps[1].loudness: must be at most 10, got 11"),
        ("    - {name: b, type: toy, loudness: true, prompt: hi}\n", 5, 38,
         "steps[1].loudness: expected a whole number, got true"),
        ("    - {name: b, type: toy, prompt: hi, claude_options: {max_tokns: 5}}\n", 5, 57,
         "steps[1].claude_options.max_tokns: unknown key 'max_tokns'; did you mean 'max_tokens'?"),
        ("    - {name: b, type: toy}\n", 5, 7, "steps[1]: missing required key 'prompt'"),
    ],
    ids=["misspelt-type", "misspelt-key", "out-of-bounds", "bool-as-int", "misspelt-option", "no-prompt"],
)
def test_a_registered_step_type_gets_located_diagnostics(toy, step, line, col, message):
    result = parse_workflow(_flow(step))
    first = result.errors[0]
    assert str(first) == f"<string>:{line}:{col}: {message}"


def test_a_registered_step_type_is_in_the_json_schema(toy):
    schema = workflow_json_schema()
    steps = schema["$defs"]["Workflow"]["properties"]["steps"]["items"]
    assert steps["discriminator"]["mapping"]["toy"] == "#/$defs/ToyStep"
    assert {"$ref": "#/$defs/ToyStep"} in steps["oneOf"]
    assert schema["$defs"]["ToyStep"]["properties"]["loudness"]["description"] == "How loud the toy is."


def test_once_unregistered_the_type_is_unknown_again(toy):
    unregister_step_type("toy")
    result = parse_workflow(_flow("    - {name: b, type: toy, prompt: hi}\n"))
    assert "unknown step type 'toy'" in result.errors[0].message
    assert "toy" not in str(workflow_json_schema())
