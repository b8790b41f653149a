"""OpenTelemetry set-up and W3C trace-context propagation over NATS headers.

Server spans come from `ServerSpans` (installed by shared/app.py); the gateway makes a client
span per call to a service itself (gateway/clients.py)."""

from __future__ import annotations

import json
from collections.abc import Mapping, MutableMapping, Sequence
from pathlib import Path
from typing import Any

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
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from starlette.types import ASGIApp, Message, Receive, Scope, Send

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
    # With nowhere to send spans, record none: ids are still made and propagated (logs, audit
    # entries and events keep their trace ids), but no span stores attributes nobody reads.
    sampler = ALWAYS_OFF if exporter == "none" else None  # None: OTEL_TRACES_SAMPLER decides
    provider = TracerProvider(resource=Resource.create({"service.name": service}), sampler=sampler)
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


def records_spans(tracer: trace.Tracer) -> bool:
    """False when `tracer` samples nothing (`exporter` none): a span made there is only
    CPU spent on ids and contexts nobody reads."""
    return getattr(tracer, "sampler", None) is not ALWAYS_OFF


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


def route_template(scope: Mapping[str, Any]) -> str | None:
    """The matched route's template with its router prefix (`/v1/cases/{case_id}`), never the
    raw path (which carries ids). FastAPI keeps included routers unflattened: the full template
    is on the effective route context; a plain Starlette route has it on its own."""
    context = (scope.get("fastapi") or {}).get("effective_route_context")
    template = getattr(context, "path_format", None) or getattr(scope.get("route"), "path", None)
    return template if isinstance(template, str) else None


class ServerSpans:
    """One span per HTTP request, named `METHOD /template` once the router has matched it,
    continuing the caller's trace (traceparent). Pure ASGI and nothing per message: the
    OpenTelemetry FastAPI instrumentation looked the route up again by scanning every route of
    the app on each request (a tenth of the gateway's CPU).

    Inside a span that is already current (a service called in-process, as tests do) the span
    is INTERNAL and a child of it; otherwise SERVER.
    """

    def __init__(self, app: ASGIApp, *, untraced: frozenset[str]) -> None:
        self.app = app
        self.untraced = untraced
        self._tracer = trace.get_tracer("hulei.http")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.untraced:
            await self.app(scope, receive, send)
            return
        current = trace.get_current_span().get_span_context().is_valid
        if current:
            parent, kind = None, trace.SpanKind.INTERNAL
        else:
            carrier = {
                k.decode("latin-1"): v.decode("latin-1")
                for k, v in scope["headers"]
                if k in (b"traceparent", b"tracestate")
            }
            parent, kind = (
                (_propagator.extract(carrier) if carrier else None),
                trace.SpanKind.SERVER,
            )
        method = scope["method"]
        status = 500  # unless the app starts an answer

        async def sending(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        with self._tracer.start_as_current_span(
            method, context=parent, kind=kind, record_exception=True
        ) as span:
            try:
                await self.app(scope, receive, sending)
            finally:
                if span.is_recording():
                    template = route_template(scope)
                    if template is not None:
                        span.update_name(f"{method} {template}")
                        span.set_attribute("http.route", template)
                    span.set_attribute("http.request.method", method)
                    span.set_attribute("http.response.status_code", status)
                    if status >= 500:
                        span.set_status(trace.StatusCode.ERROR)
