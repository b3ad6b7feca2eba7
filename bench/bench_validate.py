"""Workflow validation speed: a generated 1,000-step workflow, and `pipeline validate` start-up against
`python -c "import pydantic, yaml"` measured in the same run.

Targets: the 1,000-step file validates in under 1 s; `pipeline validate` on a small file costs under
1.5x the bare import of pydantic and yaml.

`pipeline validate` meets the second by never building the pydantic models: it validates with their
pydantic-core schema, checked in as engine/workflow/generated.py and run by pydantic_core alone.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, median, report

from engine.workflow import load_workflow

STEPS = 1000
RUNS = 15  # medians of many interleaved runs: the machine is shared and noisy


def generated_workflow(steps: int) -> str:
    """A long workflow using every step type, templates, defaults and references to earlier steps."""
    lines = [
        "workflow:",
        "  name: generated",
        "  vars: {topic: streaming}",
        "  defaults:",
        "    claude_options: {max_tokens: 1024, stream_handler: [console, file]}",
        "  steps:",
    ]
    for index in range(steps):
        name = f"step_{index}"
        earlier = f"step_{index - 1}" if index else None
        kind = index % 5
        if kind == 0:
            lines += [f"    - name: {name}", "      type: claude", "      prompt: 'About {{vars.topic}}'"]
        elif kind == 1:
            lines += [
                f"    - name: {name}",
                "      type: claude_smart",
                "      preset: analysis",
                "      claude_options: {max_turns: 2, stop_on: ['(?i)error']}",
                "      prompt:",
                "        - {type: static, content: 'Review this:'}",
                f"        - {{type: previous_response, step: {earlier}}}",
            ]
        elif kind == 2:
            lines += [
                f"    - name: {name}",
                "      type: claude_robust",
                "      retry_config: {max_retries: 2, backoff: linear}",
                f"      prompt: 'Improve {{{{steps.{earlier}.text}}}}'",
            ]
        elif kind == 3:
            lines += [
                f"    - name: {name}",
                "      type: claude_batch",
                "      items: [a, b, c]",
                "      prompt: 'Define {{item}}'",
            ]
        else:
            lines += [
                f"    - name: {name}",
                "      type: parallel_claude",
                "      parallel_tasks:",
                "        - {id: one, prompt: first}",
                "        - {id: two, prompt: second, claude_options: {max_tokens: 64}}",
            ]
    return "\n".join(lines) + "\n"


def seconds(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    return time.perf_counter() - started


def startup_medians(commands: list[list[str]]) -> list[float]:
    """The median time of each command, run in turn so that load on a shared machine hits all alike."""
    for command in commands:
        seconds(command)  # warm the file cache
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for timing, command in zip(timings, commands, strict=True):
            timing.append(seconds(command))
    return [median(timing) for timing in timings]


def main() -> int:
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.yaml"
        big.write_text(generated_workflow(STEPS), encoding="utf-8")
        result = load_workflow(big)
        assert result.ok and len(result.workflow.steps) == STEPS, result.errors[:3]
        timings = []
        for _ in range(5):
            started = time.perf_counter()
            load_workflow(big)
            timings.append(time.perf_counter() - started)
        big_seconds = median(timings)

        small = ROOT / "workflows" / "streaming_example.yaml"
        console_script = Path(sys.executable).with_name("pipeline")
        validate = [str(console_script)] if console_script.exists() else [sys.executable, "-m", "tui.cli"]
        validate += ["validate", str(small)]
        baseline = [sys.executable, "-c", "import pydantic, yaml"]
        baseline_seconds, validate_seconds = startup_medians([baseline, validate])
    startup_ratio = validate_seconds / baseline_seconds
    print(f"validate {STEPS} steps: {big_seconds * 1000:.0f} ms (median of 5, in process)")
    print(
        f"pipeline validate (small file): {validate_seconds * 1000:.0f} ms; "
        f"python -c 'import pydantic, yaml': {baseline_seconds * 1000:.0f} ms (medians of {RUNS})"
    )
    if sys.flags.dont_write_bytecode:
        # Inherited by the runs: pydantic and yaml load pip's bytecode, this project's modules are compiled
        # from source on every run. Worth knowing when comparing with figures taken without it.
        print("note: PYTHONDONTWRITEBYTECODE is set: each `pipeline validate` run compiles this project's")
        print("      modules from source (about 25 ms on a loaded 2-core machine)")
    ok = report(f"validate {STEPS}-step workflow", big_seconds, 1.0, " s")
    ok = report("pipeline validate start-up / import pydantic, yaml", startup_ratio, 1.5, "x") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
