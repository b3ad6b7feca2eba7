"""OpenTelemetry as a user gets it: `pipeline run` with the standard OTEL_* variables exports its spans.

The OTLP test runs a real `pipeline run --no-tui` against the simulator, exporting through the real
OTLP/HTTP exporter to a receiver on 127.0.0.1 that decodes the protobuf with opentelemetry-proto.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import sys
import textwrap
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

NO_EXTRA = "the pipeline[otel] extra is not installed"
pytest.importorskip("opentelemetry.sdk", reason=NO_EXTRA)
pytest.importorskip("opentelemetry.exporter.otlp.proto.http", reason=NO_EXTRA)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (  # noqa: E402
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

WORKFLOW = """
workflow:
  name: traced
  workspace_dir: {ws}
  output_dir: {out}
  steps:
    - name: tools
      type: claude
      prompt: "Run the script."
      claude_options: {{allowed_tools: [Bash], stream_handler: buffer}}
    - name: fan
      type: parallel_claude
      claude_options: {{stream_handler: buffer}}
      parallel_tasks:
        - {{id: a, prompt: "First task"}}
        - {{id: b, prompt: "Second task"}}
"""
SCENARIO = """
rules:
  - prompt_contains: "Run the script"
    times: 1
    tool_use: {name: Bash, input: {command: "echo $TRACEPARENT > traceparent.txt"}}
"""


def write_workflow(tmp_path: Path) -> tuple[Path, Path]:
    path = tmp_path / "traced.yaml"
    path.write_text(WORKFLOW.format(ws=tmp_path / "ws", out=tmp_path / "out"), encoding="utf-8")
    scenario = tmp_path / "scenario.yaml"
    scenario.write_text(textwrap.dedent(SCENARIO), encoding="utf-8")
    return path, scenario


async def pipeline_run(tmp_path: Path, env: dict[str, str]) -> tuple[int, str, str]:
    path, scenario = write_workflow(tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tui.cli",
        "run",
        str(path),
        "--no-tui",
        "--provider",
        "simulator",
        "--scenario",
        str(scenario),
        "--ttft-ms",
        "0",
        "--tokens-per-second",
        "0",
        cwd=tmp_path,
        env={**clean, **env},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode is not None
    return process.returncode, stdout.decode(), stderr.decode()


def attributes(span: Any) -> dict[str, Any]:
    values = {}
    for kv in span.attributes:
        value = kv.value
        kind = value.WhichOneof("value")
        if kind == "array_value":
            values[kv.key] = [getattr(v, v.WhichOneof("value")) for v in value.array_value.values]
        else:
            values[kv.key] = getattr(value, kind)
    return values


async def test_spans_reach_an_otlp_receiver_as_a_tree_with_genai_attributes(tmp_path):
    received: list[ExportTraceServiceRequest] = []

    async def traces(request: web.Request) -> web.Response:
        message = ExportTraceServiceRequest()
        message.ParseFromString(await request.read())
        received.append(message)
        return web.Response(
            body=ExportTraceServiceResponse().SerializeToString(), content_type="application/x-protobuf"
        )

    app = web.Application()
    app.router.add_post("/v1/traces", traces)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        code, _, stderr = await pipeline_run(
            tmp_path,
            {
                "OTEL_TRACES_EXPORTER": "otlp",
                "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{port}",
                "OTEL_SERVICE_NAME": "traced-test",
                "OTEL_RESOURCE_ATTRIBUTES": "deployment.environment=test",
            },
        )
    finally:
        await runner.cleanup()
    assert code == 0, stderr

    resources = [rs.resource for message in received for rs in message.resource_spans]
    assert resources, "no spans were exported"
    resource = attributes(resources[0])
    assert resource["service.name"] == "traced-test"
    assert resource["deployment.environment"] == "test"
    spans = [
        span
        for message in received
        for rs in message.resource_spans
        for ss in rs.scope_spans
        for span in ss.spans
    ]
    by_id = {span.span_id: span for span in spans}
    assert len({span.trace_id for span in spans}) == 1, "every span belongs to the run's trace"

    def parent(span: Any) -> Any:
        return by_id.get(span.parent_span_id)

    def chain(span: Any) -> list[str]:
        names = []
        while span is not None:
            names.append(span.name)
            span = parent(span)
        return names[::-1]

    names = Counter(span.name for span in spans)
    assert names["pipeline.run"] == 1 and names["pipeline.step"] == 2 and names["pipeline.task"] == 2

    tool = next(span for span in spans if span.name == "execute_tool Bash")
    assert chain(tool) == [
        "pipeline.run",
        "pipeline.step",
        "pipeline.attempt",
        "chat claude-sonnet-4-6",
        "execute_tool Bash",
    ]
    if shutil.which("bwrap"):  # without it Bash is refused (see tests/tools), and the span stays
        # The tool call's TRACEPARENT reached the (sandboxed) Bash command's environment.
        traceparent = (tmp_path / "ws" / "traceparent.txt").read_text(encoding="utf-8").strip()
        assert traceparent.startswith(f"00-{tool.trace_id.hex()}-{tool.span_id.hex()}-")

    chats = [span for span in spans if span.name.startswith("chat ")]
    assert len(chats) == 4  # tools: two turns; each task: one
    for chat in chats:
        values = attributes(chat)
        assert values["gen_ai.operation.name"] == "chat"
        assert values["gen_ai.system"] == values["gen_ai.provider.name"] == "anthropic"
        assert values["gen_ai.request.model"] == values["gen_ai.response.model"] == "claude-sonnet-4-6"
        assert values["gen_ai.usage.input_tokens"] > 0 and values["gen_ai.usage.output_tokens"] > 0
        assert values["gen_ai.response.finish_reasons"] in (["end_turn"], ["tool_use"])
        assert values["pipeline.attempt"] == 1 and values["pipeline.cost_usd"] > 0
    task_chats = [chat for chat in chats if attributes(chat)["pipeline.step"] == "fan"]
    assert sorted(attributes(chat)["pipeline.task"] for chat in task_chats) == ["a", "b"]
    for chat in task_chats:
        levels = ["pipeline.run", "pipeline.step", "pipeline.task", "pipeline.attempt", chat.name]
        assert chain(chat) == levels
        step = parent(parent(parent(chat)))
        assert attributes(step)["pipeline.step"] == "fan"
        assert attributes(step)["pipeline.cost_usd"] > 0


async def test_the_console_exporter_writes_spans_to_stderr(tmp_path):
    code, stdout, stderr = await pipeline_run(tmp_path, {"OTEL_TRACES_EXPORTER": "console"})
    assert code == 0, stderr
    assert '"name": "pipeline.run"' in stderr
    assert '"name": "chat claude-sonnet-4-6"' in stderr
    assert '"gen_ai.usage.output_tokens"' in stderr
    assert '"name": "pipeline.run"' not in stdout  # stdout stays the run's own text


async def test_without_otel_variables_nothing_is_configured(tmp_path):
    code, stdout, stderr = await pipeline_run(tmp_path, {})
    assert code == 0, stderr
    assert "pipeline.run" not in stderr and "pipeline.run" not in stdout


USER_PROVIDER = """
import asyncio, json, sys
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

exporter = InMemorySpanExporter()
provider = TracerProvider()
provider.add_span_processor(SimpleSpanProcessor(exporter))
trace.set_tracer_provider(provider)  # as opentelemetry-instrument, or the user's own code, does

from engine.handlers import HandlerEnvironment
from engine.launch import open_run
from engine.workflow import load_workflow

async def main():
    workflow = load_workflow(sys.argv[1]).workflow
    quiet = HandlerEnvironment(console_enabled=False)
    async with open_run(workflow, provider="simulator", output_dir=sys.argv[2], handlers=quiet) as handle:
        await handle
    assert trace.get_tracer_provider() is provider
    print(json.dumps(sorted({span.name for span in exporter.get_finished_spans()})))

asyncio.run(main())
"""


async def test_a_provider_the_user_set_up_is_used_and_never_replaced(tmp_path):
    path, _ = write_workflow(tmp_path)
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        USER_PROVIDER,
        str(path),
        str(tmp_path / "out"),
        cwd=Path(__file__).resolve().parents[2],
        env={**clean, "OTEL_TRACES_EXPORTER": "console"},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), 90)
    assert process.returncode == 0, stderr.decode()
    names = json.loads(stdout.decode().strip().splitlines()[-1])
    assert {"pipeline.run", "pipeline.step", "pipeline.task", "pipeline.attempt"} <= set(names)
    assert '"name": "pipeline.run"' not in stderr.decode()  # no console exporter of ours was added
