"""Dashboard benchmark: 16 streams at 100 tokens/s through the whole app on a real pty, beside a naive app.

Four figures (see bench/README.md, "Dashboard"):
1. CPU of the app process (engine, SDK and UI in one process) and p95 delay from a delta reaching the
   engine to the next frame written to the terminal, for the dashboard and for a naive baseline (a `Log`
   widget written per token), one after the other against one simulator in its own process; beside
   them the engine alone (same run, no UI), the floor any UI adds to.
2. Memory over a fast-forwarded stream of 5 million tokens fed straight into the dashboard's inbox.
3. Time from starting `pipeline run` to its first screen.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import pty
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.common import ROOT, percentile, report, simulator_process

STREAMS = 16
TOKENS_PER_SECOND = 100
WARMUP_S = 3.0
COLUMNS, ROWS = 200, 50
CPU_TARGET = 0.60
P95_TARGET_S = 0.150
FIRST_SCREEN_TARGET_S = 1.0
FAST_FORWARD_TOKENS = 5_000_000
MEMORY_GROWTH_TARGET_MB = 20.0


def workflow_yaml(output_dir: str) -> str:
    tasks = "".join(
        f'        - id: "t{i:02d}"\n          prompt: "Write a long essay about rivers, part {i}"\n'
        for i in range(STREAMS)
    )
    return (
        "workflow:\n  name: bench\n"
        f"  output_dir: {output_dir}\n  workspace_dir: {output_dir}/ws\n"
        "  steps:\n    - name: streams\n      type: parallel_claude\n"
        f"      max_parallel: {STREAMS}\n      parallel_tasks:\n{tasks}"
    )


# -- the app process (run in a pty by the parent) ---------------------------------------------------


class FrameProbe:
    """Times each delta from the engine's bus to the first frame written after the app applied it."""

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.arrivals: list[float] = []
        self.applied = 0
        self.painted = 0
        self.delays: list[float] = []
        self.window_start: float | None = None
        self.cpu_start = 0.0
        self.result: dict[str, float] | None = None

    def on_event(self, event: Any) -> None:
        if event.kind == "text":
            now = time.perf_counter()
            self.arrivals.append(now)
            if self.window_start is None and len(self.arrivals) >= STREAMS:
                self.window_start = now + WARMUP_S

    def on_write(self) -> None:
        now = time.perf_counter()
        if self.window_start is None or now < self.window_start:
            self.painted = self.applied
            return
        if not self.cpu_start:
            self.cpu_start, self.wall_start = time.process_time(), now
        for index in range(self.painted, self.applied):
            self.delays.append(now - self.arrivals[index])
        self.painted = self.applied
        if self.result is None and now - self.wall_start >= self.window_s:
            self.result = {
                "cpu": (time.process_time() - self.cpu_start) / (now - self.wall_start),
                "p95": percentile(self.delays, 0.95),
                "p50": percentile(self.delays, 0.50),
                "deltas": len(self.delays),
                "tokens_per_s": len(self.delays) / (now - self.wall_start),
            }


def run_app(mode: str, window_s: float, report_path: Path) -> None:
    from textual.app import App, ComposeResult
    from textual.containers import Grid
    from textual.widgets import Log

    from engine.workflow import parse_workflow
    from tui.app import DashboardApp

    probe = FrameProbe(window_s)
    out = tempfile.mkdtemp(prefix="bench-dashboard-")
    loaded = parse_workflow(workflow_yaml(out))
    assert not loaded.errors, loaded.errors
    handles: list[Any] = []

    @contextlib.asynccontextmanager
    async def open_probed_run() -> Any:
        # The launch path of `pipeline run`, imported once the app is up as the dashboard does.
        from engine.handlers import HandlerEnvironment
        from engine.launch import open_run

        handlers = HandlerEnvironment(console_enabled=False)
        async with open_run(
            loaded.workflow, provider="anthropic", output_dir=Path(out), handlers=handlers
        ) as handle:
            handles.append(handle)
            handle.bus.listen(probe.on_event)
            yield handle

    def hook_driver(app: App[Any]) -> None:
        driver = app._driver
        assert driver is not None
        write = driver.write

        def timed_write(data: str) -> None:
            write(data)
            probe.on_write()
            if probe.result is not None and handles:
                report_path.write_text(json.dumps(probe.result))
                app.exit()

        driver.write = timed_write  # type: ignore[method-assign]

    if mode == "engine":
        run_engine_alone(open_probed_run, probe, report_path)
        return
    if mode == "dashboard":

        class BenchDashboard(DashboardApp):
            def on_mount(self) -> None:
                hook_driver(self)

            def refresh_from_run(self) -> None:
                applied = len(probe.arrivals)
                super().refresh_from_run()
                probe.applied = applied

        app: App[Any] = BenchDashboard(open_probed_run)
    else:

        class NaiveDashboard(App[None]):
            """The baseline: one Log per stream, written on every token."""

            CSS = "Grid { grid-size: 4 4; } Log { border: round $panel; }"

            def compose(self) -> ComposeResult:
                with Grid():
                    for i in range(STREAMS):
                        yield Log(id=f"t{i:02d}")

            def on_mount(self) -> None:
                hook_driver(self)
                self.run_worker(self.drive())

            async def drive(self) -> None:
                logs = {f"streams.t{i:02d}": self.query_one(f"#t{i:02d}", Log) for i in range(STREAMS)}

                def on_event(event: Any) -> None:
                    if event.kind == "text":
                        logs[event.step_id].write(event.text)
                        probe.applied = len(probe.arrivals)

                async with open_probed_run() as handle:
                    handle.bus.listen(on_event)
                    await handle

        app = NaiveDashboard()
    app.run()


def run_engine_alone(open_probed_run: Any, probe: FrameProbe, report_path: Path) -> None:
    """The floor: the same run with no UI at all (engine and SDK only), its CPU over the same window."""
    import asyncio

    async def drive() -> None:
        async with open_probed_run() as handle:
            while probe.result is None:
                await asyncio.sleep(0.1)
                probe.applied = len(probe.arrivals)
                probe.on_write()
            handle.interrupt_all("benchmark over")
            await handle

    asyncio.run(drive())
    report_path.write_text(json.dumps(probe.result))


# -- the parent: drives the app in a pty and reports --------------------------------------------------


def in_pty(argv: list[str], env: dict[str, str], until: Any, timeout_s: float) -> tuple[int, float]:
    """Run argv on a fresh pty of COLUMNS x ROWS, draining its output; returns (exit status, seconds)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", ROWS, COLUMNS, 0, 0))
    started = time.perf_counter()
    process = subprocess.Popen(
        argv, stdin=slave, stdout=slave, stderr=slave, env=env, cwd=ROOT, start_new_session=True
    )
    os.close(slave)
    seen = b""
    finished_at = None
    try:
        while process.poll() is None and time.perf_counter() - started < timeout_s:
            ready, _, _ = select.select([master], [], [], 0.1)
            if ready:
                with contextlib.suppress(OSError):
                    seen = (seen + os.read(master, 65536))[-200_000:]
            if finished_at is None and until(seen):
                finished_at = time.perf_counter() - started
    finally:
        if process.poll() is None:
            process.terminate()
        process.wait(timeout=10)
        os.close(master)
    return process.returncode, finished_at if finished_at is not None else float("inf")


def measure_streams(window_s: float) -> dict[str, dict[str, float]]:
    scenario = "answer_tokens: 100000\n"
    results = {}
    with simulator_process(scenario, tokens_per_second=TOKENS_PER_SECOND) as base_url:
        for mode in ("engine", "dashboard", "naive"):
            env = dict(
                os.environ, ANTHROPIC_BASE_URL=base_url, ANTHROPIC_API_KEY="sk-bench", TERM="xterm-256color"
            )
            env.pop("NO_COLOR", None)
            with tempfile.NamedTemporaryFile(suffix=".json", delete=False) as out:
                report_path = Path(out.name)
            argv = [
                sys.executable,
                __file__,
                "--child",
                mode,
                "--seconds",
                str(window_s),
                "--report",
                str(report_path),
            ]
            in_pty(argv, env, lambda _: False, timeout_s=window_s + 60)
            text = report_path.read_text()
            report_path.unlink()
            if not text:
                raise RuntimeError(f"the {mode} app wrote no figures")
            results[mode] = json.loads(text)
    return results


def measure_memory() -> dict[str, Any]:
    """Feed 5M tokens (16 streams, newlines now and then) through the dashboard's tick; RSS at each 1M."""
    import asyncio

    from engine.events import RunStarted, StepStarted, TextDelta
    from tui.app import DashboardApp

    class FastForward:
        def __init__(self) -> None:
            from engine.bus import EventBus

            self.bus = EventBus()
            self.run_dir = Path("/tmp")

        @contextlib.asynccontextmanager
        async def open(self) -> Any:
            yield self

        def __await__(self) -> Any:
            return asyncio.get_running_loop().create_future().__await__()

    def rss_mb() -> float:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20

    async def feed() -> list[float]:
        source = FastForward()
        app = DashboardApp(source.open)  # type: ignore[arg-type]
        samples = []
        async with app.run_test(size=(COLUMNS, ROWS)) as pilot:
            await pilot.pause()
            ids = [f"streams.t{i:02d}" for i in range(STREAMS)]
            source.bus.publish(RunStarted("ff", "bench", "simulator", True, "/tmp", ("streams",)))
            source.bus.publish(StepStarted("streams", "parallel_claude", "", None, tuple(ids)))
            for step_id in ids:
                source.bus.publish(StepStarted(step_id, "claude", "m", "streams"))
            app.refresh_from_run()
            sent = 0
            batch = 16_000  # about ten ticks' worth of 16 streams at 100 tokens/s
            while sent < FAST_FORWARD_TOKENS:
                for n in range(batch):
                    word = "word\n" if n % 97 == 0 else "word "
                    source.bus.publish(TextDelta(ids[n % STREAMS], word))
                sent += batch
                app.refresh_from_run()
                await pilot.pause()
                if sent % 1_000_000 == 0:
                    samples.append(rss_mb())
        return samples

    samples = asyncio.run(feed())
    return {
        "rss_at_1m": samples[0],
        "rss_at_5m": samples[-1],
        "growth": samples[-1] - samples[0],
        "samples": samples,
    }


def measure_first_screen(runs: int = 3) -> list[float]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "first.yaml"
        path.write_text(
            "workflow:\n  name: first-screen\n"
            f"  output_dir: {tmp}/out\n  workspace_dir: {tmp}/ws\n"
            '  steps:\n    - name: hello\n      type: claude\n      prompt: "Say hello"\n',
            encoding="utf-8",
        )
        env = dict(os.environ, TERM="xterm-256color")
        for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "NO_COLOR"):
            env.pop(name, None)
        pipeline = Path(sys.executable).with_name("pipeline")
        # The header's first paint says the workflow has not started yet.
        times = [
            in_pty(
                [str(pipeline), "run", str(path), "--provider", "simulator", "--exit-when-done"],
                env,
                lambda seen: b"starting" in seen or b"first-screen" in seen,
                timeout_s=60,
            )[1]
            for _ in range(runs)
        ]
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--child", choices=("engine", "dashboard", "naive"))
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--report", type=Path)
    args = parser.parse_args()
    if args.child:
        run_app(args.child, args.seconds, args.report)
        return 0

    first = measure_first_screen()
    streams = measure_streams(args.seconds)
    memory = measure_memory()
    dash, naive = streams["dashboard"], streams["naive"]
    print(
        f"{STREAMS} streams at {TOKENS_PER_SECOND} tokens/s, {args.seconds:.0f} s window,"
        f" pty {COLUMNS}x{ROWS}"
    )
    for name, figures in streams.items():
        print(
            f"  {name:9s} cpu {figures['cpu']:.0%} of a core · delta->painted"
            f" p50 {figures['p50'] * 1000:.0f} ms p95 {figures['p95'] * 1000:.0f} ms"
            f" · {figures['tokens_per_s']:.0f} tokens/s painted"
        )
    ratio_cpu, ratio_p95 = dash["cpu"] / naive["cpu"], dash["p95"] / naive["p95"]
    print(
        f"  ratios dashboard/naive: cpu {ratio_cpu:.2f}, p95 {ratio_p95:.2f};"
        f" the UI's own share (dashboard - engine): {dash['cpu'] - streams['engine']['cpu']:.0%} of a core"
    )
    print(
        f"  memory over {FAST_FORWARD_TOKENS:,} tokens: RSS "
        + " -> ".join(f"{mb:.0f}" for mb in memory["samples"])
        + " MB"
    )
    print("  first screen of `pipeline run`: " + ", ".join(f"{t:.2f} s" for t in first))
    ok = all(
        [
            report("dashboard cpu (fraction of one core)", dash["cpu"], CPU_TARGET),
            report("dashboard p95 delta->painted", dash["p95"], P95_TARGET_S, " s"),
            report("memory growth from 1M to 5M tokens", memory["growth"], MEMORY_GROWTH_TARGET_MB, " MB"),
            report("first screen (median)", sorted(first)[len(first) // 2], FIRST_SCREEN_TARGET_S, " s"),
        ]
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
