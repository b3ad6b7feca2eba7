"""Adding a step type is a model, an executor and one registration: a toy type registered from the
test suite goes through validation, the JSON Schema, the runner and the dashboard's state."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from engine.workflow import load_workflow
from engine.workflow.model import workflow_json_schema
from engine.workflow.registry import STEP_TYPES, register_step_type, unregister_step_type
from tests.engine.conftest import workflow
from tests.engine.toy_step import TOY_ECHO
from tui.run_state import RunState

REPLY = "An echo of the prompt."
TOY = """
    - name: echo
      type: toy_echo
      repeat: 3
      claude_options: {stream_handler: [file]}
      prompt: "Say it again"
"""


@pytest.fixture
def toy_registered() -> Iterator[None]:
    register_step_type(TOY_ECHO)
    yield
    unregister_step_type(TOY_ECHO.name)


def test_a_registered_step_type_validates_with_the_same_diagnostics(toy_registered, tmp_path):
    path = tmp_path / "toy.yaml"
    path.write_text(workflow(TOY, tmp=tmp_path), encoding="utf-8")
    loaded = load_workflow(path)
    assert not loaded.errors, [str(e) for e in loaded.errors]
    assert type(loaded.workflow.steps[0]).__name__ == "ToyEchoStep"
    path.write_text(workflow(TOY.replace("repeat: 3", "repet: 3"), tmp=tmp_path), encoding="utf-8")
    [error] = load_workflow(path).errors
    assert "repet" in str(error) and "repeat" in str(error)  # did-you-mean from the toy's own model
    assert "toy_echo" in str(workflow_json_schema())


def test_without_its_registration_the_type_is_unknown(tmp_path):
    assert "toy_echo" not in STEP_TYPES
    path = tmp_path / "toy.yaml"
    path.write_text(workflow(TOY, tmp=tmp_path), encoding="utf-8")
    [error] = load_workflow(path).errors
    assert "toy_echo" in str(error)


async def test_a_registered_step_type_runs_and_the_dashboard_lists_its_tasks(
    toy_registered, harness_factory, tmp_path
):
    async with harness_factory({"rules": [{"reply": REPLY}]}) as h:
        result = await h.run(workflow(TOY, tmp=tmp_path))
    assert result.status == "succeeded"
    assert sorted(result.tasks) == ["echo.echo-1", "echo.echo-2", "echo.echo-3"]
    assert all(task.text == REPLY for task in result.tasks.values())
    assert len(h.sim.log) == 3
    state = RunState(clock=lambda: 0.0)
    state.apply(h.events)
    assert state.steps["echo"].children == ["echo.echo-1", "echo.echo-2", "echo.echo-3"]
    assert state.steps["echo"].status == "succeeded"
    assert all(state.steps[child].status == "succeeded" for child in state.steps["echo"].children)
