"""The two executors side by side: the same prompt through the engine's own API loop and through the
Claude Code agent (claude-agent-sdk and its CLI), against one simulator process.

Figures: time from the step's start to its first text delta, and CPU per text delta, in the engine's
process and with the Claude Code CLI's own CPU added (the CLI is a child process, counted once reaped).
Measurements alternate api / claude_code in pairs so load drifts hit both alike; medians are reported.
Target: the engine's CPU per delta under claude_code <= 2x the api executor's (the SDK parses one JSON
line per stream event in our process; the CLI's own work is reported beside it, without a target).
Skipped (exit 0) when the claude-code extra is not installed.
Run: .venv/bin/python bench/bench_executors.py
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
import resource
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from bench_engine import client_for
from common import median, report, simulator_process

from engine.events import TextDelta
from engine.handlers import HandlerEnvironment
from engine.runner import Runner
from engine.workflow.model import ClaudeOptions, ClaudeStep, Workflow

SCENARIO = """
rules:
  - {prompt_contains: "answer-first", answer_tokens: 20}
  - {prompt_contains: "answer-5k", answer_tokens: 5000}
"""
PAIRS = 7


def workflow(executor: str, prompt: str, out: Path) -> Workflow:
    options = ClaudeOptions(executor=executor, stream_handler=("buffer",), max_turns=1)  # type: ignore[arg-type]
    step = ClaudeStep(name="s", type="claude", prompt=prompt, claude_options=options)
    return Workflow(name="bench", steps=(step,), output_dir=str(out), workspace_dir=str(out / "ws"))


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def one_run(client, executor: str, prompt: str, out: Path) -> tuple[float, int, float, float]:  # type: ignore[no-untyped-def]
    """(ms to the first text delta, text deltas, engine CPU s, CLI CPU s) of one step."""
    handlers = HandlerEnvironment(console_enabled=False)
    runner = Runner(workflow(executor, prompt, out), client, handlers=handlers)
    first: list[float] = []
    deltas = [0]

    def on_event(event: object) -> None:
        if type(event) is TextDelta:
            deltas[0] += 1
            if not first:
                first.append(time.perf_counter())

    cpu, child = time.process_time(), children_cpu()
    start = time.perf_counter()
    handle = runner.start()
    handle.bus.listen(on_event)
    result = await handle
    if result.status != "succeeded":
        raise RuntimeError(f"{executor}: {result.steps['s'].reason} {result.steps['s'].error}")
    return (first[0] - start) * 1000, deltas[0], time.process_time() - cpu, children_cpu() - child


async def paired(client, prompt: str, out: Path) -> dict[str, list[tuple[float, int, float, float]]]:  # type: ignore[no-untyped-def]
    runs: dict[str, list[tuple[float, int, float, float]]] = {"api": [], "claude_code": []}
    for _ in range(PAIRS):
        for executor in runs:
            runs[executor].append(await one_run(client, executor, prompt, out))
    return runs


async def main() -> int:
    if importlib.util.find_spec("claude_agent_sdk") is None:
        print("SKIP  the claude-code extra is not installed: pip install -e '.[claude-code]'")
        return 0
    ok = True
    with TemporaryDirectory() as tmp:
        out = Path(tmp)
        # Claude Code's config and sessions go to the temporary folder, never the user's.
        os.environ["CLAUDE_CONFIG_DIR"] = str(out / "claude-config")
        with simulator_process(SCENARIO) as url:
            client = client_for(url)
            for executor in ("api", "claude_code"):  # warm imports, the connection pool, the CLI's files
                await one_run(client, executor, "answer-first", out)

            ttft = await paired(client, "answer-first", out)
            api_first = median([run[0] for run in ttft["api"]])
            cc_first = median([run[0] for run in ttft["claude_code"]])
            start_cpu = median([run[3] for run in ttft["claude_code"]]) * 1000
            print(
                f"time to first text delta (median of {PAIRS}): api {api_first:.1f} ms, "
                f"claude_code {cc_first:.1f} ms (CLI start-up included; its CPU for a 20-token "
                f"step: {start_cpu:.0f} ms)"
            )

            cpu = await paired(client, "answer-5k", out)
            api_us = median([run[2] / run[1] * 1e6 for run in cpu["api"]])
            cc_us = median([run[2] / run[1] * 1e6 for run in cpu["claude_code"]])
            cli_us = median([run[3] / run[1] * 1e6 for run in cpu["claude_code"]])
            deltas = median([float(run[1]) for run in cpu["claude_code"]])
            # Less the CLI's cost of a 20-token step (start-up, mostly): what each further delta costs it.
            cli_long = median([run[3] for run in cpu["claude_code"]])
            cli_marginal_us = (cli_long - start_cpu / 1000) / deltas * 1e6
            print(
                f"CPU per text delta, 5,000-token answer unthrottled ({deltas:.0f} deltas, "
                f"median of {PAIRS}): "
                f"api {api_us:.1f} us in the engine; claude_code {cc_us:.1f} us in the engine "
                f"+ {cli_us:.1f} us in the CLI = {cc_us + cli_us:.1f} us "
                f"(the CLI's start-up aside: {cli_marginal_us:.1f} us per delta)"
            )
            pairs = zip(cpu["api"], cpu["claude_code"], strict=True)
            ratios = [c[2] / c[1] / (a[2] / a[1]) for a, c in pairs]
            ok &= report("engine CPU per delta, claude_code / api (median of pairs)", median(ratios), 2, "x")
            await client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
