"""Benchmark of the Messages-API simulator, run in its own process as `pipeline simulate`.

1. Unthrottled: text deltas per second one stream delivers to the official SDK's raw
   `create(stream=True)` loop, against a minimal aiohttp server writing precomputed frames (baseline).
2. Throttled at 100 tokens/s: 200 concurrent streams read by a light aiohttp SSE reader keep their
   pace (p95 inter-delta gap), while the simulator process stays under 80% of one core.

Prints figures; exits 1 when a target is missed. `--serve-baseline` runs the baseline server.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

import aiohttp
from aiohttp import web

ROOT = Path(__file__).resolve().parent.parent
MODEL = "claude-sonnet-4-6"
PROMPT = "Explain how token streaming keeps a workflow runner responsive"

UNTHROTTLED_DELTAS = 150_000
TARGET_DELTAS_PER_SECOND = 40_000
CLIENT_BOUND_RATIO = 0.9
ROUNDS = 5
BASELINE_BATCH_FRAMES = 64

STREAMS = 200
TOKENS_PER_SECOND = 100
TOKENS_PER_STREAM = 600
TARGET_GAP_MS = 1000 / TOKENS_PER_SECOND
TARGET_P95_EXCESS_MS = 15.0
TARGET_SIMULATOR_CORE_SHARE = 0.80
DELTA_MARK = b"event: content_block_delta"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def start_server(command: list[str]) -> tuple[subprocess.Popen[str], str]:
    """A server process and its base URL, read from the first line it prints."""
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
    )
    line = process.stdout.readline() if process.stdout else ""
    url = next((word for word in line.split() if word.startswith("http://")), None)
    if url is None:
        process.kill()
        raise RuntimeError(f"server did not start: {line!r}")
    return process, url


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far, from /proc/PID/stat."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


async def sdk_deltas_per_second(base_url: str) -> tuple[float, float]:
    """(deltas/s from the first delta to the end, seconds to the first delta) for one unthrottled stream."""
    import anthropic

    headers = {
        "x-sim-answer-tokens": str(UNTHROTTLED_DELTAS),
        "x-sim-tokens-per-second": "0",
        "x-sim-ttft-ms": "0",
    }
    async with anthropic.AsyncAnthropic(base_url=base_url, api_key="sk-simulator", timeout=60) as client:
        started = time.perf_counter()
        first = None
        count = 0
        async for event in await client.messages.create(
            model=MODEL,
            max_tokens=UNTHROTTLED_DELTAS,
            messages=[{"role": "user", "content": PROMPT}],
            stream=True,
            extra_headers=headers,
        ):
            if event.type == "content_block_delta":
                count += 1
                if first is None:
                    first = time.perf_counter()
        finished = time.perf_counter()
    assert first is not None and count == UNTHROTTLED_DELTAS, count
    return (count - 1) / (finished - first), first - started


def serve_baseline() -> None:
    """A minimal SSE server: the same frames, precomputed once, written 64 at a time."""

    def sse(event: str, data: object) -> bytes:
        return f"event: {event}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()

    usage = {"input_tokens": 10, "output_tokens": 1}
    message = {
        "id": "msg_1",
        "type": "message",
        "role": "assistant",
        "model": MODEL,
        "content": [],
        "usage": usage,
    }
    text_block = {"type": "text", "text": ""}
    text_delta = {"type": "text_delta", "text": " word"}
    delta = sse("content_block_delta", {"type": "content_block_delta", "index": 0, "delta": text_delta})
    head = sse("message_start", {"type": "message_start", "message": message}) + sse(
        "content_block_start", {"type": "content_block_start", "index": 0, "content_block": text_block}
    )
    tail = (
        sse("content_block_stop", {"type": "content_block_stop", "index": 0})
        + sse(
            "message_delta",
            {
                "type": "message_delta",
                "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                "usage": {"output_tokens": UNTHROTTLED_DELTAS},
            },
        )
        + sse("message_stop", {"type": "message_stop"})
    )
    batch = delta * BASELINE_BATCH_FRAMES

    async def messages(request: web.Request) -> web.StreamResponse:
        await request.read()
        response = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await response.prepare(request)
        await response.write(head)
        for _ in range(UNTHROTTLED_DELTAS // BASELINE_BATCH_FRAMES):
            await response.write(batch)
        await response.write(delta * (UNTHROTTLED_DELTAS % BASELINE_BATCH_FRAMES) + tail)
        return response

    async def main() -> None:
        app = web.Application()
        app.router.add_post("/v1/messages", messages)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        print(f"baseline http://127.0.0.1:{runner.addresses[0][1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


async def read_paced_stream(http: aiohttp.ClientSession, base_url: str, gaps_ms: list[float]) -> int:
    """Read one throttled stream, recording the gap before each delta after the first; returns deltas."""
    body = {
        "model": MODEL,
        "max_tokens": 4096,
        "stream": True,
        "messages": [{"role": "user", "content": PROMPT}],
    }
    headers = {
        "x-sim-tokens-per-second": str(TOKENS_PER_SECOND),
        "x-sim-answer-tokens": str(TOKENS_PER_STREAM),
        "x-sim-ttft-ms": "0",
    }
    previous = None
    count = 0
    async with http.post(f"{base_url}/v1/messages", json=body, headers=headers) as response:
        async for chunk in response.content.iter_any():
            now = time.perf_counter()
            for _ in range(chunk.count(DELTA_MARK)):
                if previous is not None:
                    gaps_ms.append((now - previous) * 1000)
                previous = now
                count += 1
    return count


async def paced_streams(base_url: str, simulator_pid: int) -> tuple[float, float, float, int, float]:
    """(p95 gap ms, median gap ms, simulator core share, deltas, seconds) for STREAMS paced streams."""
    gaps_ms: list[float] = []
    connector = aiohttp.TCPConnector(limit=0)
    async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=120)) as http:
        cpu_before, wall_before = cpu_seconds(simulator_pid), time.perf_counter()
        counts = await asyncio.gather(*(read_paced_stream(http, base_url, gaps_ms) for _ in range(STREAMS)))
        cpu_after, wall_after = cpu_seconds(simulator_pid), time.perf_counter()
    assert all(count == TOKENS_PER_STREAM for count in counts), counts
    gaps_ms.sort()
    p95 = gaps_ms[int(len(gaps_ms) * 0.95)]
    share = (cpu_after - cpu_before) / (wall_after - wall_before)
    return p95, statistics.median(gaps_ms), share, sum(counts), wall_after - wall_before


async def run() -> int:
    simulator, simulator_url = start_server([sys.executable, "-m", "tui.cli", "simulate", "--port", "0"])
    baseline, baseline_url = start_server([sys.executable, __file__, "--serve-baseline"])
    try:
        await sdk_deltas_per_second(simulator_url)  # warm-up: imports, connection, code paths
        await sdk_deltas_per_second(baseline_url)
        simulator_rate = baseline_rate = simulator_share = 0.0
        simulator_first_s = float("inf")
        # Alternating rounds, best of each: other load on a shared machine only ever slows a round down.
        for _ in range(ROUNDS):
            cpu_before, started = cpu_seconds(simulator.pid), time.perf_counter()
            rate, first_s = await sdk_deltas_per_second(simulator_url)
            share = (cpu_seconds(simulator.pid) - cpu_before) / (time.perf_counter() - started)
            if rate > simulator_rate:
                simulator_rate, simulator_first_s, simulator_share = rate, first_s, share
            baseline_rate = max(baseline_rate, (await sdk_deltas_per_second(baseline_url))[0])
        reader_cpu_before = time.process_time()
        p95, median, paced_share, paced_deltas, paced_wall = await paced_streams(simulator_url, simulator.pid)
        reader_share = (time.process_time() - reader_cpu_before) / paced_wall
    finally:
        for process in (simulator, baseline):
            process.terminate()
            process.wait(timeout=10)

    # When the SDK client cannot reach the target even against the minimal server (a loaded machine),
    # the simulator passes by matching that baseline: it is then the client, not the simulator, that limits.
    client_bound = baseline_rate < TARGET_DELTAS_PER_SECOND
    unthrottled_ok = simulator_rate >= TARGET_DELTAS_PER_SECOND or (
        client_bound and simulator_rate >= CLIENT_BOUND_RATIO * baseline_rate
    )
    pace_ok = p95 - TARGET_GAP_MS < TARGET_P95_EXCESS_MS
    cpu_ok = paced_share < TARGET_SIMULATOR_CORE_SHARE
    verdict = "ok" if unthrottled_ok else "MISSED"
    print(f"unthrottled, 1 stream of {UNTHROTTLED_DELTAS:,} deltas, raw SDK create(stream=True) loop:")
    print(f"  simulator  {simulator_rate:9,.0f} deltas/s  target >= {TARGET_DELTAS_PER_SECOND:,}  {verdict}")
    print(
        f"  {'':11}first delta after {simulator_first_s * 1000:.0f} ms, simulator CPU {simulator_share:.0%}"
    )
    print(f"  baseline   {baseline_rate:9,.0f} deltas/s  (minimal aiohttp server, precomputed frames)")
    print(
        f"  ratio      {simulator_rate / baseline_rate:9.2f}  (simulator / baseline, best of {ROUNDS} rounds)"
    )
    if client_bound:
        print(f"  client-bound: the SDK client is below {TARGET_DELTAS_PER_SECOND:,}/s even on the baseline")
        print(f"  here, so the target is simulator >= {CLIENT_BOUND_RATIO} x baseline")
    print(
        f"throttled, {STREAMS} streams x {TOKENS_PER_STREAM} tokens at {TOKENS_PER_SECOND} tokens/s "
        f"({paced_deltas:,} deltas, light aiohttp reader):"
    )
    print(
        f"  inter-delta gap  median {median:.1f} ms  p95 {p95:.1f} ms  (target p95 < "
        f"{TARGET_GAP_MS + TARGET_P95_EXCESS_MS:.0f} ms)  {'ok' if pace_ok else 'MISSED'}"
    )
    print(
        f"  simulator CPU    {paced_share:.0%} of one core  (target < {TARGET_SIMULATOR_CORE_SHARE:.0%})  "
        f"{'ok' if cpu_ok else 'MISSED'}"
    )
    print(
        f"  reader CPU       {reader_share:.0%} of one core  (near 100% would mean the reader sets the pace)"
    )
    return 0 if unthrottled_ok and pace_ok and cpu_ok else 1


if __name__ == "__main__":
    if sys.argv[1:] == ["--serve-baseline"]:
        serve_baseline()
    else:
        sys.exit(asyncio.run(run()))
