"""`pipeline simulate`: serves the Messages-API simulator on 127.0.0.1 until Ctrl+C, or streams a demo."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
import sys

from engine.results import EXIT_SUCCEEDED, EXIT_USAGE
from engine.simulator import Scenario, ScenarioError, Simulator, SimulatorConfig

DEMO_TTFT_MS = 400.0
DEMO_TOKENS_PER_SECOND = 60.0
DEMO_PROMPT = "Explain how token streaming makes a workflow runner for Claude feel fast and controllable."
DEMO_TIMEOUT_S = 60.0


def main(args: argparse.Namespace) -> int:
    if not 0 <= args.port <= 65535:
        return _usage_error(f"--port must be between 0 and 65535, got {args.port}")
    ttft_ms, tokens_per_second = args.ttft_ms, args.tokens_per_second
    if args.demo:
        ttft_ms = DEMO_TTFT_MS if ttft_ms is None else ttft_ms
        tokens_per_second = DEMO_TOKENS_PER_SECOND if tokens_per_second is None else tokens_per_second
    try:
        scenario = Scenario.load(args.scenario) if args.scenario else None
        config = SimulatorConfig(ttft_ms=ttft_ms, tokens_per_second=tokens_per_second, scenario=scenario)
    except ScenarioError as error:
        return _usage_error(str(error))
    if args.demo:
        return asyncio.run(_demo(config))
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    return asyncio.run(_serve(config, args.port))


def _usage_error(message: str) -> int:
    print(f"pipeline simulate: {message}", file=sys.stderr)
    return EXIT_USAGE


async def _serve(config: SimulatorConfig, port: int) -> int:
    simulator = Simulator(config, port=port)
    try:
        await simulator.start()
    except OSError as error:
        return _usage_error(f"cannot listen on 127.0.0.1:{port}: {error.strerror or error}")
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    print(f"Simulator listening on {simulator.base_url} (SIMULATED Messages API)", flush=True)
    print(
        f"Try: curl -N {simulator.base_url}/v1/messages -H 'content-type: application/json' "
        """-d '{"model": "claude-sonnet-4-6", "max_tokens": 200, "stream": true, """
        """"messages": [{"role": "user", "content": "Hello"}]}'""",
        flush=True,
    )
    print("Press Ctrl+C to stop.", flush=True)
    try:
        await stop.wait()
    finally:
        await simulator.close()
    print("Simulator stopped.", flush=True)
    return EXIT_SUCCEEDED


async def _demo(config: SimulatorConfig) -> int:
    """Stream one answer from the simulator through the official SDK, printing text as it arrives."""
    # Imported here: the SDK takes about 2 s to import, which plain `pipeline simulate` never needs.
    from engine.providers import open_provider

    async with open_provider("simulator", simulator_config=config, timeout=DEMO_TIMEOUT_S) as provider:
        print(f"SIMULATED Messages API at {provider.client.base_url}")
        print(f"> {DEMO_PROMPT}\n", flush=True)
        stream = await provider.client.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=400,
            stream=True,
            messages=[{"role": "user", "content": DEMO_PROMPT}],
        )
        output_tokens = 0
        stop_reason = None
        async for event in stream:
            if event.type == "content_block_delta" and event.delta.type == "text_delta":
                sys.stdout.write(event.delta.text)
                sys.stdout.flush()
            elif event.type == "message_delta":
                output_tokens = event.usage.output_tokens
                stop_reason = event.delta.stop_reason
        print(f"\n\n[{output_tokens} tokens streamed, stop_reason={stop_reason}]")
    return EXIT_SUCCEEDED
