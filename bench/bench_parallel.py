"""parallel_claude at scale: 100 tasks at 50 tokens/s each, against bare raw-SDK loops in the same run.

Targets (issue 6): the step finishes within 1.2x the time of its slowest single task, every task's
text complete; the engine's CPU per delta at most 1.3x that of bare raw-SDK loops running the same
100 streams. Then a sweep reports where one process saturates.
Run: .venv/bin/python bench/bench_parallel.py
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

import anthropic
from common import median, report, simulator_process

from engine.events import TextDelta
from engine.handlers import HandlerEnvironment
from engine.providers import http_client
from engine.runner import Runner
from engine.workflow.model import ClaudeOptions, ParallelClaudeStep, ParallelTask, Workflow

TOKENS = 250  # 5 s per task at 50 tokens/s
SCENARIO = f"answer_tokens: {TOKENS}\n"
MODEL = "claude-sonnet-4-6"


def client_for(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        http_client=http_client(),
        base_url=base_url,
        api_key="sk-simulator",
        max_retries=0,
        timeout=anthropic.Timeout(120, connect=5),
    )


async def raw_stream(client: anthropic.AsyncAnthropic, prompt: str) -> tuple[int, float]:
    start = time.perf_counter()
    deltas = 0
    stream = await client.messages.create(
        model=MODEL, max_tokens=4096, stream=True, messages=[{"role": "user", "content": prompt}]
    )
    async for event in stream:
        if event.type == "content_block_delta":
            deltas += 1
    return deltas, time.perf_counter() - start


async def raw_many(client: anthropic.AsyncAnthropic, count: int) -> tuple[int, float]:
    results = await asyncio.gather(*(raw_stream(client, f"task {i} of the benchmark") for i in range(count)))
    return sum(d for d, _ in results), max(t for _, t in results)


async def engine_parallel(client: anthropic.AsyncAnthropic, count: int, out: Path) -> tuple[int, float, bool]:
    options = ClaudeOptions(stream_handler=("buffer",))
    tasks = tuple(
        ParallelTask(id=f"t{i}", prompt=f"task {i} of the benchmark", claude_options=options)
        for i in range(count)
    )
    step = ParallelClaudeStep(
        name="fan", type="parallel_claude", parallel_tasks=tasks, claude_options=options
    )
    workflow = Workflow(name="bench", steps=(step,), output_dir=str(out), workspace_dir=str(out / "ws"))
    env = HandlerEnvironment(console_enabled=False)
    handle = Runner(workflow, client, handlers=env).start()
    deltas = [0]

    def count_deltas(event: object) -> None:
        if type(event) is TextDelta:
            deltas[0] += 1

    handle.bus.listen(count_deltas)
    start = time.perf_counter()
    result = await handle
    wall = time.perf_counter() - start
    complete = result.status == "succeeded" and all(
        t.status == "succeeded" and t.metrics.output_tokens == TOKENS and env.buffers[sid].text == t.text
        for sid, t in result.tasks.items()
    )
    return deltas[0], wall, complete


async def main() -> int:
    ok = True
    with TemporaryDirectory() as tmp, simulator_process(SCENARIO, tokens_per_second=50) as url:
        out = Path(tmp)
        client = client_for(url)
        await raw_stream(client, "warm up")
        single = median([(await raw_stream(client, f"single {i}"))[1] for i in range(3)])
        # Alternating pairs, so load drifts hit both alike; the verdict is the median per-pair ratio.
        cpu_raw, cpu_eng, ratios, walls = [], [], [], []
        for _ in range(3):
            start = time.process_time()
            deltas, _ = await raw_many(client, 100)
            cpu_raw.append((time.process_time() - start) / deltas * 1e6)
            start = time.process_time()
            deltas, wall, complete = await engine_parallel(client, 100, out)
            cpu_eng.append((time.process_time() - start) / deltas * 1e6)
            ratios.append(cpu_eng[-1] / cpu_raw[-1])
            walls.append(wall)
            ok &= complete
        print(
            f"slowest single task {single:.2f} s; parallel_claude with 100 tasks {median(walls):.2f} s; "
            f"every task complete: {ok}"
        )
        ok &= report("parallel step / single task time", median(walls) / single, 1.2, "x")
        print(f"CPU per delta: raw SDK loops {median(cpu_raw):.1f} us, engine {median(cpu_eng):.1f} us")
        ok &= report(
            "engine / raw CPU per delta, 100 streams at 50 tokens/s (median of 3 pairs)",
            median(ratios),
            1.3,
            "x",
        )
        for count in (200, 400, 800):
            deltas, wall, complete = await engine_parallel(client, count, out)
            offered = count * 50
            achieved = deltas / wall
            print(
                f"saturation sweep: {count} tasks offer {offered} deltas/s; the step took {wall:.2f} s "
                f"({wall / single:.2f}x a single task), ~{achieved:.0f} deltas/s, complete: {complete}"
            )
        await client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
