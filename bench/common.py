"""Shared pieces of the benchmarks: a simulator in its own process, CPU clocks, small statistics."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def simulator_process(scenario_yaml: str, tokens_per_second: float = 0) -> Iterator[str]:
    """`pipeline simulate` in its own process; yields its base URL."""
    port = free_port()
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as scenario:
        scenario.write(scenario_yaml)
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "tui.cli",
            "simulate",
            "--port",
            str(port),
            "--scenario",
            scenario.name,
            "--tokens-per-second",
            str(tokens_per_second),
        ],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=0.2):
                break
            time.sleep(0.05)
        else:
            raise RuntimeError("the simulator did not start")
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
        os.unlink(scenario.name)


def median(values: list[float]) -> float:
    ordered = sorted(values)
    mid = len(ordered) // 2
    return ordered[mid] if len(ordered) % 2 else (ordered[mid - 1] + ordered[mid]) / 2


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(name: str, value: float, target: float, unit: str = "", higher_is_better: bool = False) -> bool:
    ok = value >= target if higher_is_better else value <= target
    relation = ">=" if higher_is_better else "<="
    print(
        f"{'PASS' if ok else 'MISS'}  {name}: {value:.3f}{unit} (target {relation} {target}{unit})",
        flush=True,
    )
    return ok


def rss_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(field)


def reset_peak() -> None:
    # Writing 5 to clear_refs resets VmHWM (the peak) to the current RSS.
    Path("/proc/self/clear_refs").write_text("5")
