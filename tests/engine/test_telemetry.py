"""OpenTelemetry: spans for the run, each step and each model call once the user installs a provider."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import asyncio, contextlib, json, sys
    from opentelemetry import trace

    names = []

    class Tracer(trace.Tracer):
        def start_span(self, name, *args, **kwargs):
            names.append(name)
            return trace.NonRecordingSpan(trace.INVALID_SPAN_CONTEXT)

        @contextlib.contextmanager
        def start_as_current_span(self, name, *args, **kwargs):
            yield self.start_span(name)

    class Provider(trace.TracerProvider):
        def get_tracer(self, *args, **kwargs):
            return Tracer()

    trace.set_tracer_provider(Provider())

    from engine.handlers import HandlerEnvironment
    from engine.providers import open_provider
    from engine.runner import Runner
    from engine.workflow import load_workflow

    async def main():
        workflow = load_workflow(sys.argv[1]).workflow
        async with open_provider("simulator", max_retries=0) as provider:
            runner = Runner(workflow, provider.client, output_dir=sys.argv[2],
                            handlers=HandlerEnvironment(console_enabled=False))
            await runner.start()
        print(json.dumps(names))

    asyncio.run(main())
""")


def test_run_step_and_model_call_spans_are_emitted(tmp_path):
    workflow = tmp_path / "w.yaml"
    workflow.write_text(
        textwrap.dedent("""
        workflow:
          name: traced
          steps:
            - {name: one, type: claude, prompt: "hello", claude_options: {stream_handler: buffer}}
            - {name: two, type: claude, prompt: "again", claude_options: {stream_handler: buffer}}
    """),
        encoding="utf-8",
    )
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(workflow), str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    names = json.loads(out.stdout.strip().splitlines()[-1])
    ours = [name for name in names if name.startswith("pipeline.")]
    assert ours.count("pipeline.run") == 1
    assert ours.count("pipeline.step") == 2
    assert ours.count("pipeline.model_call") == 2
