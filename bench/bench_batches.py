"""Message Batches: 100,000 items (small answers) submitted, polled and collected by a `claude_batch` step
with `api: batches`, against the simulator in its own process.

Targets: the client's peak RSS grows by under 100 MB over the run, and its CPU stays under 1 s per
10,000 items. Each measurement runs in a fresh process (peak RSS is per process); the baseline, in the
same run, is a bare SDK loop doing the same create / retrieve / results and dropping every line.
Run: .venv/bin/python bench/bench_batches.py [ITEMS]  (default 100,000)
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from pathlib import Path
from tempfile import TemporaryDirectory

from common import report, reset_peak, rss_kib, simulator_process

ITEMS = 100_000
SCENARIO = "batch_processing_ms: 2000\nanswer_tokens: 5\n"
MODEL = "claude-haiku-4-5"
POLL_S = 0.5
CHUNK = 10_000  # requests per batch: the engine's default max_batch_requests


def item_texts(count: int) -> list[str]:
    return [f"review {n}: the parcel came on time and well packed" for n in range(count)]


async def child(kind: str, url: str, count: int, out: str) -> dict[str, float]:
    import anthropic

    from engine.handlers import HandlerEnvironment
    from engine.providers import http_client
    from engine.runner import Runner
    from engine.workflow.model import BatchConfig, ClaudeBatchStep, ClaudeOptions, Workflow

    client = anthropic.AsyncAnthropic(
        http_client=http_client(), base_url=url, api_key="sk-simulator", max_retries=0, timeout=600
    )
    items = item_texts(count)
    if kind == "engine":
        step = ClaudeBatchStep(
            name="reviews",
            type="claude_batch",
            prompt=({"type": "static", "content": "Classify: {{item}}"},),
            items=tuple(items),
            claude_options=ClaudeOptions(model=MODEL, max_tokens=16),
            batch_config=BatchConfig(api="batches", poll_interval_seconds=POLL_S),
        )
        workflow = Workflow(name="bench", steps=(step,), output_dir=out, workspace_dir=out)
        runner = Runner(workflow, client, handlers=HandlerEnvironment(console_enabled=False))
    rss_before = rss_kib("VmRSS")
    reset_peak()
    cpu, wall = time.process_time(), time.perf_counter()
    if kind == "engine":
        result = await runner.start()
        assert result.status == "succeeded", result.reason
    else:
        # The same shape as the engine's: batches of CHUNK requests, created, polled, results read.
        params = {"model": MODEL, "max_tokens": 16}
        collected, ids = 0, []
        for start in range(0, count, CHUNK):
            requests = (
                {
                    "custom_id": f"item-{n}",
                    "params": {**params, "messages": [{"role": "user", "content": f"Classify: {t}"}]},
                }
                for n, t in enumerate(items[start : start + CHUNK], start)
            )
            ids.append((await client.messages.batches.create(requests=requests)).id)
        for batch_id in ids:
            while (await client.messages.batches.retrieve(batch_id)).processing_status != "ended":
                await asyncio.sleep(POLL_S)
            async for line in await client.messages.batches.results(batch_id):
                collected += line.result.type == "succeeded"
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    rss_growth_mb = (rss_kib("VmHWM") - rss_before) / 1024  # before the checks below read the record
    if kind == "engine":  # every item's answer in the record: its items file, and the step's data
        record = json.loads((result.run_dir / "run.json").read_text())
        items_file = result.run_dir / record["steps"]["reviews"]["items"]["file"]
        with open(items_file, encoding="utf-8") as lines:
            done = (json.loads(line) for line in lines)
            collected = sum(1 for item in done if item["status"] == "succeeded" and item["text"])
        data = result.steps["reviews"].data
        assert len(data) == count and all(data[k]["text"] for k in data)
    await client.close()
    assert collected == count, f"{collected} of {count} collected"
    return {
        "cpu_s": cpu,
        "wall_s": wall,
        "rss_growth_mb": rss_growth_mb,
    }


def measure(kind: str, url: str, count: int) -> dict[str, float]:
    with TemporaryDirectory() as out:
        done = subprocess.run(
            [sys.executable, __file__, "--child", kind, url, str(count), out],
            capture_output=True,
            text=True,
            check=False,
        )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} run failed: {done.stderr.strip().splitlines()[-1:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(count: int) -> int:
    with simulator_process(SCENARIO) as url:
        sdk = measure("sdk", url, count)
        engine = measure("engine", url, count)
    per_10k = engine["cpu_s"] / (count / 10_000)
    print(
        f"{count:,} items: bare SDK loop (baseline) CPU {sdk['cpu_s']:.2f} s, peak RSS growth "
        f"{sdk['rss_growth_mb']:.1f} MB; engine CPU {engine['cpu_s']:.2f} s "
        f"({engine['cpu_s'] / sdk['cpu_s']:.2f}x the baseline), wall {engine['wall_s']:.1f} s "
        f"(the batch takes 2 s to process)",
        flush=True,
    )
    ok_cpu = report("engine CPU per 10,000 items", per_10k, 1.0, " s")
    ok_rss = report("engine peak RSS growth", engine["rss_growth_mb"], 100, " MB")
    return 0 if ok_rss and ok_cpu else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        _, _, kind, url, count, out = sys.argv
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
        print(json.dumps(asyncio.run(child(kind, url, int(count), out))))
    else:
        sys.exit(main(int(sys.argv[1]) if len(sys.argv) > 1 else ITEMS))
