"""What Bash's bubblewrap sandbox costs a call: `echo hi` sandboxed against the same call unsandboxed.

Both go through the real tool box (ToolBox.run), in the same run, in alternating pairs (the order
flips each pair, so neither side always runs on a warmer machine); the figure is the median of the
per-pair differences. Target (issue 11): the sandbox adds under 50 ms.
Run: .venv/bin/python bench/bench_bash.py
"""

from __future__ import annotations

import asyncio
import shutil
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from common import median, percentile, report

from engine.tools import BashSandbox, ToolBox

PAIRS = 60
WARM_UP = 5
TARGET_MS = 50.0
COMMAND = {"command": "echo hi"}


async def timed(box: ToolBox) -> float:
    start = time.perf_counter()
    outcome = await box.run("Bash", COMMAND)
    elapsed = time.perf_counter() - start
    if outcome.output != "hi\n[exit code 0]":
        raise RuntimeError(f"unexpected Bash output: {outcome.output!r}")
    return elapsed


async def measure(workspace: Path) -> tuple[list[float], list[float]]:
    sandboxed = ToolBox(workspace, ["Bash"], bash_sandbox=BashSandbox())
    unsandboxed = ToolBox(workspace, ["Bash"], bash_sandbox=BashSandbox(enabled=False))
    for _ in range(WARM_UP):
        await timed(sandboxed)
        await timed(unsandboxed)
    inside, outside = [], []
    for pair in range(PAIRS):
        if pair % 2:
            outside.append(await timed(unsandboxed))
            inside.append(await timed(sandboxed))
        else:
            inside.append(await timed(sandboxed))
            outside.append(await timed(unsandboxed))
    return inside, outside


def main() -> int:
    if shutil.which("bwrap") is None:
        print("MISS  bwrap is not installed (apt-get install bubblewrap): nothing to measure")
        return 1
    with TemporaryDirectory() as tmp:
        inside, outside = asyncio.run(measure(Path(tmp)))
    added = [(i - o) * 1000 for i, o in zip(inside, outside, strict=True)]
    print(
        f"{PAIRS} alternating pairs of `echo hi` through ToolBox.run: sandboxed median "
        f"{median(inside) * 1000:.1f} ms, unsandboxed median {median(outside) * 1000:.1f} ms; "
        f"per-pair difference p90 {percentile(added, 0.9):.1f} ms",
        flush=True,
    )
    ok = report("sandbox cost per Bash call (median of per-pair differences)", median(added), TARGET_MS, "ms")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
