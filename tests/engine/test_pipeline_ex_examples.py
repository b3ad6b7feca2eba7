"""The four shared pipeline_ex examples run on the simulator, their `gemini` steps made `claude` steps."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

SEEDS = Path(__file__).resolve().parents[3] / "shared" / "seeds" / "pipeline_ex"
EXAMPLES = sorted(SEEDS.glob("*.yaml")) if SEEDS.is_dir() else []


def as_claude_only(text: str, tmp_path: Path) -> str:
    """The example with each gemini step made a plain claude step, and run records kept under tmp_path."""
    data = yaml.safe_load(text)
    flow = data["workflow"]
    flow["workspace_dir"] = str(tmp_path / "ws")
    flow["output_dir"] = str(tmp_path / "outputs")
    flow["steps"] = [
        {"name": s["name"], "type": "claude", "prompt": s.get("prompt", "Say something useful.")}
        if s.get("type") == "gemini"
        else s
        for s in flow["steps"]
    ]
    return yaml.safe_dump(data, sort_keys=False)


@pytest.mark.skipif(not EXAMPLES, reason="../shared/seeds/pipeline_ex is not beside this checkout")
@pytest.mark.parametrize("example", EXAMPLES, ids=[p.stem for p in EXAMPLES])
async def test_a_pipeline_ex_example_runs_on_the_simulator(harness_factory, tmp_path, example):
    text = as_claude_only(example.read_text(encoding="utf-8"), tmp_path)
    async with harness_factory() as h:
        workflow = h.load(text)
        result = await h.run(text)
    assert result.status == "succeeded", {k: (s.status, s.reason, s.error) for k, s in result.steps.items()}
    assert set(result.steps) == {step.name for step in workflow.steps}
    assert all(step.text for step in result.steps.values())
