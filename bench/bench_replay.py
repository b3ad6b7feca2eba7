"""`pipeline replay --speed 1` timing: how late each replayed event is against its recorded offset.

A real run is recorded first (embedded simulator, 8 parallel tasks and 2 sequential steps streaming at
100 tokens/s, one retry). It is then replayed at speed 1 with console handlers attached (writing to
/dev/null), as `pipeline replay --no-tui` does. Target: p95 lateness <= 20 ms.

Baseline, measured in the same run: the same schedule of deadlines slept to by a bare asyncio loop
that publishes nothing, i.e. what this machine's timer and scheduler alone cost.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import textwrap
from pathlib import Path

from common import median, percentile, report

from engine.handlers import ConsoleWriter, HandlerEnvironment
from engine.launch import start_run
from engine.providers import open_provider
from engine.replay import ReplayRun, read_events
from engine.simulator import Scenario, SimulatorConfig
from engine.workflow import parse_workflow

ROUNDS = 3
WORKFLOW = """
workflow:
  name: bench-replay
  output_dir: {out}
  workspace_dir: {out}/ws
  steps:
    - name: intro
      type: claude
      claude_options: {{stream_handler: buffer, retry_config: {{max_retries: 2, base_delay_ms: 50}}}}
      prompt: "An intro about tides"
    - name: angles
      type: parallel_claude
      claude_options: {{stream_handler: buffer}}
      parallel_tasks:
{tasks}
    - name: outro
      type: claude
      claude_options: {{stream_handler: buffer}}
      prompt: "An outro about tides"
"""


async def record(out: Path) -> Path:
    tasks = "\n".join(f"        - {{id: t{n}, prompt: 'angle {n}'}}" for n in range(8))
    loaded = parse_workflow(textwrap.dedent(WORKFLOW.format(out=out, tasks=tasks)))
    assert loaded.workflow is not None, [str(e) for e in loaded.errors]
    scenario = Scenario.from_dict(
        {"answer_tokens": 150, "rules": [{"prompt_contains": "intro", "fault": "error_event",
                                          "after_tokens": 20, "times": 1}]}
    )
    config = SimulatorConfig(scenario=scenario, tokens_per_second=100, ttft_ms=200)
    async with open_provider("simulator", simulator_config=config, max_retries=0) as provider:
        handle = start_run(loaded.workflow, provider, provider_name="simulator",
                           handlers=HandlerEnvironment(console_enabled=False))
        result = await handle
    return result.run_dir


async def replay_lateness(run_dir: Path) -> list[float]:
    with open(os.devnull, "w") as sink:
        env = HandlerEnvironment(console=ConsoleWriter(sink, colour=False))
        replay = ReplayRun(read_events(run_dir), run_dir, speed=1, handlers=("console",), handler_env=env)
        async with replay.open():
            await replay
    return replay.lateness


async def baseline_lateness(run_dir: Path) -> list[float]:
    loop = asyncio.get_running_loop()
    started = loop.time()
    late = []
    for recorded in read_events(run_dir):
        due = started + recorded.offset_s
        if due > loop.time():
            await asyncio.sleep(due - loop.time())
        late.append(loop.time() - due)
    return late


async def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        run_dir = await record(Path(tmp))
        events = read_events(run_dir)
        p95s, base95s, maxes = [], [], []
        for _ in range(ROUNDS):  # alternate subject and baseline: the machine is shared
            late = await replay_lateness(run_dir)
            base = await baseline_lateness(run_dir)
            p95s.append(percentile(late, 0.95) * 1000)
            maxes.append(max(late) * 1000)
            base95s.append(percentile(base, 0.95) * 1000)
    span = events[-1].offset_s
    print(f"{len(events)} events over {span:.1f} s; replay p95 lateness per round "
          f"{', '.join(f'{v:.1f}' for v in p95s)} ms (max {max(maxes):.1f} ms); "
          f"baseline (bare sleeps) p95 {median(base95s):.1f} ms")
    ok = report("replay --speed 1, p95 lateness (median of rounds)", median(p95s), 20.0, " ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
