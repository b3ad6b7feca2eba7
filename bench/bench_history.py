"""`pipeline runs` over 10,000 run folders: the whole command, start-up included, in its own process.

Target: under 1 s with the index warm (the usual case: it is refreshed on every listing). Also shown:
the first listing (no index: every run.json is read and the index written), and the baseline measured
in the same run, a bare `python -c "import json, os"` start-up plus the same scandir + stat of every
run.json, which is the floor any listing that checks each run for changes must pay.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import ROOT, median, report

RUNS = 10_000
REPEATS = 7
STATUSES = ("succeeded", "failed", "interrupted", "succeeded")


def make_runs(out_dir: Path) -> None:
    start = 1_780_000_000.0
    for n in range(RUNS):
        run_id = time.strftime("%Y%m%d-%H%M%S", time.gmtime(start + n * 60)) + f"-{n:04x}"
        steps = {
            f"step_{i}": {
                "status": "succeeded" if i < 3 else STATUSES[n % 4],
                "parent": None,
                "type": "claude",
                "model": "claude-sonnet-4-5",
                "reason": "",
                "attempts": 1,
                "usage": {"input_tokens": 120, "output_tokens": 640},
                "cost_usd": 0.0102,
                "metrics": {"duration_s": 12.5, "chunks": 640, "bytes": 2600, "retries": 0, "tool_calls": 0,
                            "input_tokens": 120, "output_tokens": 640, "cost_usd": 0.0102},
                "text_file": f"results/step_{i}.txt",
                "data": None,
                "fingerprint": "sha256:" + "0" * 64,
                "reused_from": None,
            }
            for i in range(5)
        }
        record = {"schema_version": 1, "run_id": run_id, "workflow": "bench", "status": STATUSES[n % 4],
                  "reason": "", "started_at": start + n * 60, "finished_at": start + n * 60 + 70,
                  "duration_s": 70.0, "cost_usd": 0.051, "steps": steps}
        folder = out_dir / run_id
        folder.mkdir()
        (folder / "run.json").write_text(json.dumps(record), encoding="utf-8")


def timed(argv: list[str]) -> float:
    started = time.perf_counter()
    done = subprocess.run(argv, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{argv} failed: {done.stderr.strip()}")
    return elapsed


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out_dir = Path(tmp) / "outputs"
        out_dir.mkdir()
        make_runs(out_dir)
        runs_cmd = [sys.executable, "-m", "tui.cli", "runs", "--output-dir", str(out_dir)]
        floor_cmd = [sys.executable, "-c",
                     "import json, os, sys\n"
                     "for e in os.scandir(sys.argv[1]):\n"
                     "    if e.is_dir():\n"
                     "        os.stat(os.path.join(e.path, 'run.json'))\n", str(out_dir)]
        cold = timed(runs_cmd)  # no index yet: reads all 10,000 records and writes the index
        warm, floor = [], []
        for _ in range(REPEATS):  # alternating pairs: the machine is shared
            warm.append(timed(runs_cmd))
            floor.append(timed(floor_cmd))
    warm_s, floor_s = median(warm), median(floor)
    print(f"{RUNS} runs: first listing (builds the index) {cold:.3f} s; "
          f"warm median {warm_s:.3f} s; baseline (start-up + scandir + stat) {floor_s:.3f} s; "
          f"ratio {warm_s / floor_s:.2f}x")
    ok = report("pipeline runs over 10,000 runs, index warm", warm_s, 1.0, " s")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
