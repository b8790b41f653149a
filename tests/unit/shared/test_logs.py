"""JSON log lines carry the service and, inside a span, the trace and span ids."""

from __future__ import annotations

import json
import logging

import pytest
from opentelemetry import trace

from shared.logs import JsonFormatter

pytestmark = pytest.mark.unit


def record(msg: str) -> logging.LogRecord:
    return logging.LogRecord("hulei.test", logging.WARNING, __file__, 1, msg, None, None)


def test_a_line_is_json_with_service_level_and_message() -> None:
    line = json.loads(JsonFormatter("case_tracking").format(record('quote " and ünïcode')))
    assert line["service"] == "case_tracking"
    assert line["level"] == "WARNING"
    assert line["msg"] == 'quote " and ünïcode'
    assert "trace_id" not in line


def test_inside_a_span_the_line_names_the_trace_and_span() -> None:
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("work") as span:
        line = json.loads(JsonFormatter("gateway").format(record("inside")))
        ctx = span.get_span_context()
    assert ctx.is_valid  # the test session installs an SDK tracer provider
    assert line["trace_id"] == format(ctx.trace_id, "032x")
    assert line["span_id"] == format(ctx.span_id, "016x")
