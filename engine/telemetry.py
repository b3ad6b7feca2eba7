"""OpenTelemetry spans for runs, steps, tasks, attempts, model calls and tool calls.

Spans go through the OpenTelemetry API (a hard dependency, light to import), so they are no-ops unless a
tracer provider is set up. `configure()` sets one up from the standard `OTEL_*` variables the way the
OpenTelemetry distro does, when the `pipeline[otel]` extra (the SDK and the OTLP/HTTP exporter) is
installed and a variable asks for traces; it never replaces a provider the user set up (for instance
under `opentelemetry-instrument`).

The tree is run > step > task (of a parallel or batch step) > attempt > model call > tool call. Model
calls carry the GenAI semantic conventions (`gen_ai.*`); every span carries the pipeline's own
attributes (`pipeline.step`, `pipeline.task`, `pipeline.attempt`, `pipeline.cost_usd`).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
from collections.abc import Iterator
from typing import Any

from opentelemetry import trace

tracer = trace.get_tracer("pipeline")

log = logging.getLogger(__name__)

SYSTEM = "anthropic"
# Any of these set means the user wants traces; with none, nothing is configured (and nothing imported).
_TRACE_VARIABLES = (
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
)
FLUSH_TIMEOUT_MS = 5000

_configured = False
_provider: Any = None  # the provider configure() installed, if it installed one


def configure() -> None:
    """Install a tracer provider from `OTEL_*` once per process, unless one is already installed."""
    global _configured, _provider
    if _configured:
        return
    _configured = True
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return
    if not any(os.environ.get(name) for name in _TRACE_VARIABLES):
        return
    if not isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return  # the user's own provider (opentelemetry-instrument, or set up in code) stays
    # Unset means otlp, as in the distro (an endpoint alone was given).
    chosen = os.environ.get("OTEL_TRACES_EXPORTER", "otlp").split(",")
    names = [n.strip().lower() for n in chosen if n.strip() and n.strip().lower() != "none"]
    if not names:
        return
    try:
        from opentelemetry.sdk.resources import SERVICE_NAME, Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        log.warning("OTEL_* wants traces, but the OpenTelemetry SDK is missing: install 'pipeline[otel]'")
        return
    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: "pipeline"}))
    provider = TracerProvider(resource=resource)
    for name in names:
        exporter = _exporter(name)
        if exporter is not None:
            provider.add_span_processor(BatchSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    _provider = provider


def _exporter(name: str) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        # stderr: stdout carries the run's own text in console mode.
        return ConsoleSpanExporter(out=sys.stderr)
    if name == "otlp":
        protocol = os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") or os.environ.get(
            "OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"
        )
        if protocol != "http/protobuf":
            log.warning("OTLP protocol %r is not supported (only http/protobuf): no spans exported", protocol)
            return None
        try:
            from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        except ImportError:
            log.warning("OTEL_TRACES_EXPORTER=otlp needs the OTLP exporter: pip install 'pipeline[otel]'")
            return None
        return OTLPSpanExporter()  # reads the endpoint, headers and timeout from OTEL_EXPORTER_OTLP_*
    log.warning("OTEL_TRACES_EXPORTER=%s is not supported here (console, otlp or none)", name)
    return None


def flush() -> None:
    """Export what has been recorded so far (blocking, bounded): called when a run ends."""
    provider = _provider or trace.get_tracer_provider()
    force_flush = getattr(provider, "force_flush", None)
    if force_flush is not None:
        force_flush(FLUSH_TIMEOUT_MS)


def trace_environment() -> dict[str, str]:
    """`TRACEPARENT` (and `TRACESTATE`) of the current span, for a child process to join the trace."""
    if not trace.get_current_span().get_span_context().is_valid:
        return {}
    from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

    carrier: dict[str, str] = {}
    TraceContextTextMapPropagator().inject(carrier)
    return {key.upper(): value for key, value in carrier.items()}


@contextlib.contextmanager
def model_call_span(request: dict[str, Any], step_id: str, attempt: int, turn: int) -> Iterator[trace.Span]:
    """An attempt span and, inside it, the model call's `chat` span (GenAI request attributes set)."""
    where = {**step_attributes(step_id), "pipeline.attempt": attempt, "pipeline.turn": turn}
    with tracer.start_as_current_span("pipeline.attempt", attributes=where):
        attributes = {
            "gen_ai.operation.name": "chat",
            "gen_ai.system": SYSTEM,
            "gen_ai.provider.name": SYSTEM,
            "gen_ai.request.model": request["model"],
            "gen_ai.request.max_tokens": request["max_tokens"],
            **where,
        }
        name = f"chat {request['model']}"
        with tracer.start_as_current_span(name, kind=trace.SpanKind.CLIENT, attributes=attributes) as span:
            try:
                yield span
            except Exception as exc:
                span.set_attribute("error.type", getattr(exc, "failure", None) or type(exc).__name__)
                raise


def record_response(
    span: trace.Span, model: str, stop_reason: str | None, input_tokens: int, output_tokens: int, cost: float
) -> None:
    """The GenAI response attributes of a model call that ended well, and what it cost."""
    span.set_attributes(
        {
            "gen_ai.response.model": model,
            "gen_ai.response.finish_reasons": [stop_reason or "unknown"],
            "gen_ai.usage.input_tokens": input_tokens,
            "gen_ai.usage.output_tokens": output_tokens,
            "pipeline.cost_usd": cost,
        }
    )


def tool_call_span(
    parent: Any, step_id: str, name: str, call_id: str
) -> contextlib.AbstractContextManager[trace.Span]:
    """A tool call's span, a child of the model call that asked for it (`parent`, its context)."""
    attributes = {
        "gen_ai.operation.name": "execute_tool",
        "gen_ai.tool.name": name,
        "gen_ai.tool.call.id": call_id,
        **step_attributes(step_id),
    }
    return tracer.start_as_current_span(f"execute_tool {name}", context=parent, attributes=attributes)


def record_outcome(span: trace.Span, status: str, reason: str, metrics: Any) -> None:
    """How a step or task ended: status, tokens and cost (`metrics` is a StepMetrics)."""
    span.set_attributes(
        {
            "pipeline.status": status,
            "pipeline.cost_usd": metrics.cost_usd,
            # Not gen_ai.usage.*: those are on the model calls, and a backend summing them would count twice.
            "pipeline.input_tokens": metrics.input_tokens,
            "pipeline.output_tokens": metrics.output_tokens,
            "pipeline.retries": metrics.retries,
        }
    )
    if status == "failed":
        span.set_status(trace.StatusCode.ERROR, reason)


def step_attributes(step_id: str) -> dict[str, str]:
    """`pipeline.step`, and `pipeline.task` for a task (`step.task`) of a parallel or batch step."""
    step, _, task = step_id.partition(".")
    return {"pipeline.step": step, "pipeline.task": task} if task else {"pipeline.step": step}
