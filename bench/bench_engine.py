"""Engine overhead on the streaming path, as ratios against bare raw-SDK loops in the same run.

Targets (issue 5): CPU per delta through the engine with a buffer handler <= 1.5x a bare loop
unthrottled (20,000 deltas) and <= 1.3x throttled (50 streams at 100 tokens/s); CPU per delta at a
1 MB answer within 10% of a 100 KB answer; median time to first text delta <= raw SDK + 2 ms.
Run: .venv/bin/python bench/bench_engine.py
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
from engine.workflow.model import ClaudeOptions, ClaudeStep, ParallelClaudeStep, ParallelTask, Workflow

SCENARIO = """
rules:
  - {prompt_contains: "answer-20k", answer_tokens: 20000}
  - {prompt_contains: "answer-100kb", answer_tokens: 25000}
  - {prompt_contains: "answer-1mb", answer_tokens: 250000}
  - {prompt_contains: "answer-short", answer_tokens: 300}
  - {prompt_contains: "answer-first", answer_tokens: 3}
"""
OPTIONS = ClaudeOptions(stream_handler=("buffer",), stream_handler_opts={"max_bytes": 64 << 20})


def client_for(base_url: str) -> anthropic.AsyncAnthropic:
    return anthropic.AsyncAnthropic(
        http_client=http_client(),
        base_url=base_url,
        api_key="sk-simulator",
        max_retries=0,
        timeout=anthropic.Timeout(120, connect=5),
    )


async def raw_loop(client: anthropic.AsyncAnthropic, prompt: str) -> int:
    deltas = 0
    stream = await client.messages.create(
        model="claude-sonnet-4-6",
        max_tokens=1_000_000,
        messages=[{"role": "user", "content": prompt}],
        stream=True,
    )
    async for event in stream:
        if event.type == "content_block_delta":
            deltas += 1
    return deltas


def workflow(prompts: list[str], out: Path, parallel: bool = False) -> Workflow:
    """The prompts as steps in sequence, or as the tasks of one parallel step (all at once)."""
    options = OPTIONS.model_copy(update={"max_tokens": 1_000_000})
    if parallel:
        tasks = tuple(
            ParallelTask(id=f"t{i}", prompt=p, claude_options=options) for i, p in enumerate(prompts)
        )
        steps: tuple = (
            ParallelClaudeStep(
                name="fan", type="parallel_claude", parallel_tasks=tasks, claude_options=options
            ),
        )
    else:
        steps = tuple(
            ClaudeStep(name=f"s{i}", type="claude", prompt=p, claude_options=options)
            for i, p in enumerate(prompts)
        )
    return Workflow(
        name="bench", steps=steps, output_dir=str(out), workspace_dir=str(out / "ws"), on_error="continue"
    )


async def engine_run(client: anthropic.AsyncAnthropic, prompts: list[str], out: Path, parallel: bool) -> int:
    """Run the prompts through the engine: steps in sequence, or one parallel step's tasks at once."""
    handle = Runner(
        workflow(prompts, out, parallel), client, handlers=HandlerEnvironment(console_enabled=False)
    ).start()
    counted = [0]

    def count(event: object) -> None:
        if type(event) is TextDelta:
            counted[0] += 1

    handle.bus.listen(count)
    await handle
    return counted[0]


async def cpu_per_delta(coro_factory) -> float:  # type: ignore[no-untyped-def]
    start = time.process_time()
    deltas = await coro_factory()
    return (time.process_time() - start) / max(deltas, 1) * 1e6


async def paired(baseline, candidate, pairs: int) -> tuple[float, float, float]:  # type: ignore[no-untyped-def]
    """Alternate the two measurements `pairs` times (so load drifts hit both alike) and return the
    medians of each and of the per-pair ratios candidate / baseline."""
    base, cand, ratios = [], [], []
    for _ in range(pairs):
        base.append(await cpu_per_delta(baseline))
        cand.append(await cpu_per_delta(candidate))
        ratios.append(cand[-1] / base[-1])
    return median(base), median(cand), median(ratios)


async def first_delta_ms(client: anthropic.AsyncAnthropic, out: Path, engine: bool) -> float:
    samples = []
    for _ in range(15):
        start = time.perf_counter()
        if engine:
            runner = Runner(
                workflow(["answer-first"], out), client, handlers=HandlerEnvironment(console_enabled=False)
            )
            first: list[float] = []

            def on_event(event: object, first: list[float] = first) -> None:
                if type(event) is TextDelta and not first:
                    first.append(time.perf_counter())

            handle = runner.start()
            handle.bus.listen(on_event)
            await handle
            samples.append((first[0] - start) * 1000)
        else:
            stream = await client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=100,
                messages=[{"role": "user", "content": "answer-first"}],
                stream=True,
            )
            async for event in stream:
                if event.type == "content_block_delta":
                    samples.append((time.perf_counter() - start) * 1000)
                    break
            await stream.close()
    return median(samples)


async def main() -> int:
    ok = True
    with TemporaryDirectory() as tmp:
        out = Path(tmp)
        with simulator_process(SCENARIO) as url:
            client = client_for(url)
            await raw_loop(client, "answer-short")  # warm the connection pool and imports
            await engine_run(client, ["answer-short"], out, parallel=False)
            raw, eng, ratio = await paired(
                lambda: raw_loop(client, "answer-20k"),
                lambda: engine_run(client, ["answer-20k"], out, parallel=False),
                7,
            )
            print(f"unthrottled 20k deltas: raw SDK {raw:.1f} us/delta, engine {eng:.1f} us/delta")
            ok &= report("engine / raw CPU per delta, unthrottled (median of 7 pairs)", ratio, 1.5, "x")

            small, large, ratio = await paired(
                lambda: engine_run(client, ["answer-100kb"], out, parallel=False),
                lambda: engine_run(client, ["answer-1mb"], out, parallel=False),
                3,
            )
            print(f"engine CPU per delta: 100 KB answer {small:.1f} us, 1 MB answer {large:.1f} us")
            ok &= report("1 MB / 100 KB CPU per delta (median of 3 pairs)", ratio, 1.1, "x")

            raw_first = await first_delta_ms(client, out, engine=False)
            eng_first = await first_delta_ms(client, out, engine=True)
            print(f"time to first text delta (median): raw SDK {raw_first:.2f} ms, engine {eng_first:.2f} ms")
            ok &= report("engine - raw time to first delta", eng_first - raw_first, 2.0, " ms")
            await client.close()

        with simulator_process(SCENARIO, tokens_per_second=100) as url:
            client = client_for(url)
            prompts = ["answer-short"] * 50
            await raw_loop(client, "answer-first")

            async def raw_many() -> int:
                return sum(await asyncio.gather(*(raw_loop(client, p) for p in prompts)))

            raw, eng, ratio = await paired(
                raw_many, lambda: engine_run(client, prompts, out, parallel=True), 3
            )
            print(f"50 streams at 100 tokens/s: raw SDK {raw:.1f} us/delta, engine {eng:.1f} us/delta")
            ok &= report(
                "engine / raw CPU per delta, 50 throttled streams (median of 3 pairs)", ratio, 1.3, "x"
            )
            await client.close()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
