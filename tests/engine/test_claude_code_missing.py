"""executor: claude_code without the extra installed: the step fails with the one line that says why."""

from __future__ import annotations

import sys

from tests.engine.conftest import workflow


async def test_a_claude_code_step_without_the_extra_fails_clearly(harness_factory, tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "claude_agent_sdk", None)  # what `import` sees when it is missing
    steps = """
    - name: agent
      type: claude
      claude_options: {executor: claude_code, stream_handler: buffer}
      prompt: hi
    """
    async with harness_factory() as h:
        result = await h.run(workflow(steps, tmp=tmp_path))
    step = result.steps["agent"]
    assert step.status == "failed" and result.exit_code != 0
    assert step.error == (
        "executor claude_code needs the Claude Code extra: pip install 'pipeline[claude-code]'"
    )
    assert not h.sim.log  # nothing was sent
