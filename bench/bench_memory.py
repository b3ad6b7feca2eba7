"""Memory: a 100 MB answer streamed through the engine to a file handler grows peak RSS by under 50 MB.

Each measurement runs in a fresh process (peak RSS is per process); a bare raw-SDK loop that drops
every delta is measured the same way in the same run as the baseline.
Run: .venv/bin/python bench/bench_memory.py
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from tempfile import TemporaryDirectory

from common import report, reset_peak, rss_kib, simulator_process

CHUNK = 4096
CHUNKS = 100 * 1024 * 1024 // CHUNK  # 100 MiB of text
SCENARIO = f"rules:\n  - {{prompt_contains: huge, answer_tokens: {CHUNKS}, chunk_chars: {CHUNK}}}\n"
MODEL = "claude-sonnet-4-6"


async def child(kind: str, url: str, out: str) -> dict[str, float]:
    import anthropic

    from engine.handlers import HandlerEnvironment
    from engine.providers import http_client
    from engine.runner import Runner
    from engine.workflow.model import ClaudeOptions, ClaudeStep, Workflow

    client = anthropic.AsyncAnthropic(
        http_client=http_client(),
        base_url=url,
        api_key="sk-simulator",
        max_retries=0,
        timeout=anthropic.Timeout(300, connect=5),
    )

    async def raw(prompt: str) -> int:
        stream = await client.messages.create(
            model=MODEL, max_tokens=CHUNKS, stream=True, messages=[{"role": "user", "content": prompt}]
        )
        size = 0
        async for event in stream:
            if event.type == "content_block_delta":
                size += len(event.delta.text)
        return size

    async def engine(prompt: str) -> int:
        options = ClaudeOptions(stream_handler=("file",), max_tokens=CHUNKS)
        step = ClaudeStep(name="huge", type="claude", prompt=prompt, claude_options=options)
        workflow = Workflow(name="memory", steps=(step,), output_dir=str(out), workspace_dir=str(out))
        result = await Runner(workflow, client, handlers=HandlerEnvironment(console_enabled=False)).start()
        assert result.status == "succeeded", result.steps["huge"].error
        return (result.run_dir / "streams" / "huge.txt").stat().st_size

    run = engine if kind == "engine" else raw
    await run("warm up")  # imports, connection pool, first-call allocations
    reset_peak()
    before = rss_kib("VmRSS")
    size = await run("a huge answer")
    return {"growth_mib": (rss_kib("VmHWM") - before) / 1024, "bytes": size}


def measure(kind: str, url: str, out: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", kind, url, out], capture_output=True, text=True, timeout=900
    )
    if done.returncode != 0:
        raise RuntimeError(done.stderr[-2000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    with TemporaryDirectory() as tmp, simulator_process(SCENARIO) as url:
        raw = measure("raw", url, tmp)
        engine = measure("engine", url, tmp)
    print(
        f"100 MiB answer: raw SDK loop peak RSS +{raw['growth_mib']:.1f} MiB; engine with a file handler "
        f"+{engine['growth_mib']:.1f} MiB, file {engine['bytes'] / 2**20:.1f} MiB"
    )
    ok = engine["bytes"] == CHUNKS * CHUNK
    ok &= report("engine peak RSS growth for a 100 MiB answer to a file", engine["growth_mib"], 50, " MiB")
    return 0 if ok else 1


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        print(json.dumps(asyncio.run(child(*sys.argv[2:5]))))
        sys.exit(0)
    sys.exit(main())
