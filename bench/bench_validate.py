"""`pipeline validate` as a user runs it: on the seed example (workflows/streaming_example.yaml) and on a
generated 1,000-step workflow using every step type, each a fresh process, start-up included.

Targets (issue 10): the seed example under 0.6 s median, the 1,000-step workflow under 1 s median.
`python -c "import pydantic, yaml"`, run interleaved, is printed beside them so a loaded machine shows
as such; it is no target. One validator, the pydantic models: validate never imports the SDK or the
engine's runner (`import anthropic` alone costs about 1.5 s here; a test guards it).
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
RUNS = 11  # medians of interleaved runs: the machine is shared and noisy
SEED_TARGET_S = 0.6
BIG_TARGET_S = 1.0


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


def interleaved_medians(commands: list[list[str]]) -> list[float]:
    """The median time of each command, run in turn so that load on a shared machine hits all alike."""
    for command in commands:
        seconds(command)  # warm the file cache
    timings: list[list[float]] = [[] for _ in commands]
    for _ in range(RUNS):
        for timing, command in zip(timings, commands, strict=True):
            timing.append(seconds(command))
    return [median(timing) for timing in timings]


def main() -> int:
    console_script = Path(sys.executable).with_name("pipeline")
    pipeline = [str(console_script)] if console_script.exists() else [sys.executable, "-m", "tui.cli"]
    with tempfile.TemporaryDirectory() as folder:
        big = Path(folder) / "big.yaml"
        big.write_text(generated_workflow(STEPS), encoding="utf-8")
        result = load_workflow(big)
        assert result.ok and len(result.workflow.steps) == STEPS, result.errors[:3]
        in_process = []
        for _ in range(5):
            started = time.perf_counter()
            load_workflow(big)
            in_process.append(time.perf_counter() - started)
        seed = ROOT / "workflows" / "streaming_example.yaml"
        baseline_s, seed_s, big_s = interleaved_medians(
            [
                [sys.executable, "-c", "import pydantic, yaml"],
                [*pipeline, "validate", str(seed)],
                [*pipeline, "validate", str(big)],
            ]
        )
    print(f"medians of {RUNS} interleaved runs, each a fresh process:")
    print(f"  pipeline validate {seed.relative_to(ROOT)}: {seed_s * 1000:.0f} ms")
    print(f"  pipeline validate <{STEPS}-step workflow>: {big_s * 1000:.0f} ms")
    print(f"  python -c 'import pydantic, yaml' (context, no target): {baseline_s * 1000:.0f} ms")
    print(f"  {STEPS}-step workflow in process (median of 5): {median(in_process) * 1000:.0f} ms")
    if sys.flags.dont_write_bytecode:
        # Inherited by the runs: pydantic and yaml load pip's bytecode; this project's modules are
        # compiled from source on every run unless `make bytecode` compiled them already.
        print("note: PYTHONDONTWRITEBYTECODE is set: run `make bytecode` first (make bench does)")
    ok = report("pipeline validate, seed example", seed_s, SEED_TARGET_S, " s")
    ok = report(f"pipeline validate, {STEPS}-step workflow", big_s, BIG_TARGET_S, " s") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
