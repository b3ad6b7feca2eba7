"""Run workflows through the real engine and SDK against the embedded simulator."""

from __future__ import annotations

import textwrap
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from engine.events import Event
from engine.handlers import HandlerEnvironment
from engine.providers import open_provider
from engine.results import RunResult
from engine.runner import RunHandle, Runner
from engine.simulator import Scenario, SimulatorConfig
from engine.workflow import load_workflow


@dataclass
class Harness:
    tmp_path: Path
    provider: Any
    events: list[Event] = field(default_factory=list)

    @property
    def sim(self) -> Any:
        return self.provider.simulator

    def load(self, yaml_text: str) -> Any:
        path = self.tmp_path / "workflow.yaml"
        path.write_text(textwrap.dedent(yaml_text), encoding="utf-8")
        loaded = load_workflow(path)
        assert not loaded.errors, [str(e) for e in loaded.errors]
        return loaded.workflow

    def start(
        self, yaml_text: str, env: HandlerEnvironment | None = None, resume: Any = None
    ) -> tuple[RunHandle, Runner]:
        """Start the workflow (resuming the run `resume`, a ResumeSource, if given); its events are kept."""
        workflow = self.load(yaml_text)
        runner = Runner(
            workflow,
            self.provider.client,
            provider="simulator",
            simulated=True,
            output_dir=self.tmp_path / "outputs",
            handlers=env or HandlerEnvironment(console_enabled=False),
            resume=resume,
        )
        handle = runner.start()
        handle.bus.listen(self.events.append)
        return handle, runner

    async def run(
        self, yaml_text: str, env: HandlerEnvironment | None = None, resume: Any = None
    ) -> RunResult:
        handle, _ = self.start(yaml_text, env, resume)
        return await handle

    def of(self, kind: type, step_id: str | None = None) -> list[Any]:
        return [e for e in self.events if type(e) is kind and (step_id is None or e.step_id == step_id)]


@pytest.fixture
def harness_factory(tmp_path: Path) -> Callable[..., Any]:
    """`async with harness_factory(scenario={...}, tokens_per_second=...) as h:`"""
    import contextlib

    @contextlib.asynccontextmanager
    async def make(scenario: dict[str, Any] | None = None, **pacing: Any) -> AsyncIterator[Harness]:
        config = SimulatorConfig(scenario=Scenario.from_dict(scenario) if scenario else None, **pacing)
        async with open_provider("simulator", simulator_config=config, max_retries=0) as provider:
            yield Harness(tmp_path, provider)

    return make


def workflow(steps: str, *, extra: str = "", tmp: Path | None = None, ws: Path | None = None) -> str:
    """A workflow document around some steps (YAML text indented by 4 under `steps:`)."""
    head = "workflow:\n  name: test\n"
    if tmp is not None:
        head += f"  output_dir: {tmp / 'outputs'}\n  workspace_dir: {ws or tmp / 'ws'}\n"
    head += textwrap.indent(textwrap.dedent(extra), "  ") if extra else ""
    return head + "  steps:\n" + textwrap.indent(textwrap.dedent(steps), "    ")
