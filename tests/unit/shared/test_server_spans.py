"""One span per request, named by the full route template, continuing the caller's trace."""

from __future__ import annotations

import httpx
import pytest
from fastapi import APIRouter, FastAPI, HTTPException
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from shared.telemetry import ServerSpans

pytestmark = pytest.mark.unit

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"


def _app() -> FastAPI:
    router = APIRouter()

    @router.get("/cases/{case_id}")
    async def case(case_id: str) -> dict[str, str]:
        if case_id == "broken":
            raise HTTPException(503, "away")
        return {"id": case_id}

    app = FastAPI(telemetry={"tracing": False, "metrics": False, "logs": False})
    app.include_router(router, prefix="/v1")

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    app.add_middleware(ServerSpans, untraced=frozenset({"/healthz"}))
    return app


async def _get(path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=_app())
    async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
        return await client.get(path, headers=headers)


async def test_a_span_is_named_by_the_prefixed_template_and_continues_traceparent(
    spans: InMemorySpanExporter,
) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    assert (await _get("/v1/cases/c-42", {"traceparent": traceparent})).status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /v1/cases/{case_id}"  # never the id
    assert span.kind == SpanKind.SERVER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID
    assert span.attributes is not None
    assert span.attributes["http.route"] == "/v1/cases/{case_id}"
    assert span.attributes["http.response.status_code"] == 200


async def test_a_server_error_marks_the_span_and_probes_make_none(
    spans: InMemorySpanExporter,
) -> None:
    assert (await _get("/v1/cases/broken")).status_code == 503
    assert (await _get("/healthz")).status_code == 200
    (span,) = spans.get_finished_spans()
    assert span.name == "GET /v1/cases/{case_id}"
    assert span.status.status_code == StatusCode.ERROR
    assert span.parent is None  # no traceparent: a new trace


async def test_an_unmatched_path_is_named_by_its_method_only(spans: InMemorySpanExporter) -> None:
    assert (await _get("/v1/nothing/here")).status_code == 404
    (span,) = spans.get_finished_spans()
    assert span.name == "GET"
