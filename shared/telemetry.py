"""OpenTelemetry set-up and W3C trace-context propagation over NATS headers.

HTTP spans come from the OpenTelemetry instrumentations (FastAPI for the server side in
shared/app.py, httpx for the gateway's calls to the services in gateway/clients.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import (
    BatchSpanProcessor,
    ConsoleSpanExporter,
    SimpleSpanProcessor,
    SpanExporter,
    SpanExportResult,
)
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_propagator = TraceContextTextMapPropagator()


class JsonLinesSpanExporter(SpanExporter):
    """Appends one JSON line per finished span to a file: lets a test assemble one trace
    from several processes without a collector."""

    def __init__(self, path: str) -> None:
        self._path = Path(path)
        self._path.parent.mkdir(parents=True, exist_ok=True)

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        with self._path.open("a", encoding="utf-8") as out:
            for span in spans:
                ctx = span.get_span_context()
                if ctx is None:
                    continue
                line = {
                    "service": span.resource.attributes.get("service.name"),
                    "name": span.name,
                    "kind": span.kind.name,
                    "trace_id": format(ctx.trace_id, "032x"),
                    "span_id": format(ctx.span_id, "016x"),
                    "parent_id": format(span.parent.span_id, "016x") if span.parent else None,
                }
                out.write(json.dumps(line) + "\n")
        return SpanExportResult.SUCCESS


def setup_tracing(*, service: str, exporter: str) -> None:
    """Install a tracer provider for this process once.

    `exporter`: none | console | otlp (OTLP over HTTP, configured by the standard
    OTEL_EXPORTER_OTLP_* variables) | file:<path> (JSON lines).

    The provider is process-wide by OpenTelemetry's design; when several services share one
    process (integration tests) the first one installs it and all of them report into it.
    """
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    elif exporter == "otlp":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    elif exporter.startswith("file:"):
        path = exporter.removeprefix("file:")
        provider.add_span_processor(SimpleSpanProcessor(JsonLinesSpanExporter(path)))
    elif exporter != "none":
        raise ValueError(f"unknown trace exporter {exporter!r}")
    trace.set_tracer_provider(provider)


def tracer(name: str) -> trace.Tracer:
    return trace.get_tracer(name)


def inject(headers: MutableMapping[str, str]) -> MutableMapping[str, str]:
    """Write the current trace context (traceparent) into outgoing headers."""
    _propagator.inject(headers)
    return headers


def extract(headers: Mapping[str, str] | None) -> otel_context.Context:
    return _propagator.extract(dict(headers or {}))


def current_traceparent() -> str | None:
    return inject({}).get("traceparent")


def current_trace_id() -> str | None:
    ctx = trace.get_current_span().get_span_context()
    return format(ctx.trace_id, "032x") if ctx.is_valid else None
