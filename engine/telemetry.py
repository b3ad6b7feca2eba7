"""OpenTelemetry spans for runs, steps and model calls; no-ops unless the user configures an SDK."""

from __future__ import annotations

from opentelemetry import trace

tracer = trace.get_tracer("pipeline")
