"""Workflow validation speed: a generated 1,000-step workflow, and `pipeline validate` start-up against
`python -c "import pydantic, yaml"` measured in the same run.

Targets: the 1,000-step file validates in under 1 s; `pipeline validate` on a small file costs under
1.5x the bare import of pydantic and yaml.
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
RUNS = 9


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
        seconds(validate)  # warm the file cache for both
        seconds(baseline)
        validate_runs, baseline_runs = [], []
        for _ in range(RUNS):  # interleaved, so load on a shared machine hits both alike
            baseline_runs.append(seconds(baseline))
            validate_runs.append(seconds(validate))
    startup_ratio = median(validate_runs) / median(baseline_runs)
    print(f"validate {STEPS} steps: {big_seconds * 1000:.0f} ms (median of 5, in process)")
    print(
        f"pipeline validate (small file): {median(validate_runs) * 1000:.0f} ms; "
        f"python -c 'import pydantic, yaml': {median(baseline_runs) * 1000:.0f} ms (medians of {RUNS})"
    )
    ok = report(f"validate {STEPS}-step workflow", big_seconds, 1.0, " s")
    ok = report("pipeline validate start-up / import pydantic, yaml", startup_ratio, 1.5, "x") and ok
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
