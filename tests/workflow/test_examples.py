"""Every example in workflows/ validates, and the seed's example is there exactly as written."""

from __future__ import annotations

import re

import pytest

from engine.workflow import load_workflow, workflow_files
from engine.workflow.registry import STEP_TYPES

from .conftest import REPO, SHARED_EXAMPLES

EXAMPLES = workflow_files(REPO / "workflows")


@pytest.mark.parametrize("path", EXAMPLES, ids=[path.name for path in EXAMPLES])
def test_example_validates_without_warnings(path):
    result = load_workflow(path)
    assert result.ok, "\n".join(map(str, result.errors))
    assert result.warnings == []


def test_there_is_an_example_per_step_type():
    used = {step.type for path in EXAMPLES for step in load_workflow(path).workflow.steps}
    assert used == set(STEP_TYPES)


def test_streaming_example_is_the_seed_example_as_written():
    seed = SHARED_EXAMPLES.parent / "async-streaming.md"
    if not seed.exists():
        pytest.skip(f"the seed document is not beside the checkout ({seed})")
    block = re.search(r"## Example\s+```yaml\n(.*?)```", seed.read_text(encoding="utf-8"), re.S)
    assert block is not None
    assert (REPO / "workflows" / "streaming_example.yaml").read_text(encoding="utf-8") == block.group(1)
