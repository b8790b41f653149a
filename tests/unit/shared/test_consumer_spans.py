"""The span of handling an event: a child of the publisher's trace when spans are recorded;
with nothing recording (no exporter) no span is made, yet the handler runs in the publisher's
trace, and an event that came without one still gets a trace of its own."""

from __future__ import annotations

import pytest
from nats.aio.msg import Msg
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import RandomIdGenerator
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF
from opentelemetry.trace import SpanKind

from shared.contracts.cases import ReportLinked
from shared.delivery import Delivery
from shared.events import Envelope
from shared.telemetry import current_trace_id, current_traceparent

pytestmark = pytest.mark.unit

TRACE_ID = "0af7651916cd43dd8448eb211c80319c"
PARENT_ID = "b7ad6b7169203331"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


class CountingIds(RandomIdGenerator):
    """Counts the span ids made: one per span started."""

    def __init__(self) -> None:
        self.spans = 0

    def generate_span_id(self) -> int:
        self.spans += 1
        return super().generate_span_id()


def _delivery(provider: TracerProvider, headers: dict[str, str] | None) -> Delivery:
    envelope = Envelope.wrap(
        ReportLinked(report_id="rep-1", case_id="case-1"),
        source="case_tracking",
        subject="rep-1",
        correlation_id="rep-1",
    )
    msg = Msg(_client=None, subject="case.report.linked.v1", headers=headers)  # type: ignore[arg-type]
    (delivery,) = Delivery.received(msg, [envelope], durable="d", tracer=provider.get_tracer("t"))
    return delivery


def test_with_nothing_recording_the_handler_runs_in_the_publishers_trace_without_a_span() -> None:
    ids = CountingIds()
    delivery = _delivery(
        TracerProvider(sampler=ALWAYS_OFF, id_generator=ids), {"traceparent": TRACEPARENT}
    )
    with delivery.traced():
        assert current_trace_id() == TRACE_ID
        assert current_traceparent() == f"00-{TRACE_ID}-{PARENT_ID}-01"
    assert ids.spans == 0
    assert current_trace_id() is None  # the context is restored after the event


def test_with_nothing_recording_an_event_without_a_trace_gets_one_of_its_own() -> None:
    delivery = _delivery(TracerProvider(sampler=ALWAYS_OFF), None)
    with delivery.traced():
        assert current_trace_id() is not None


def test_a_recorded_span_is_the_child_of_the_publishers() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with _delivery(provider, {"traceparent": TRACEPARENT}).traced():
        pass
    (span,) = exporter.get_finished_spans()
    assert span.name == "consume case.report.linked.v1"
    assert span.kind == SpanKind.CONSUMER
    assert format(span.context.trace_id, "032x") == TRACE_ID
    assert span.parent is not None
    assert format(span.parent.span_id, "016x") == PARENT_ID


def test_every_event_a_message_carries_is_handled_in_the_publishers_trace() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    events = [
        Envelope.wrap(
            ReportLinked(report_id=f"rep-{n}", case_id="case-1"),
            source="case_tracking",
            subject=f"rep-{n}",
            correlation_id="rep-1",
        )
        for n in range(3)
    ]
    msg = Msg(_client=None, subject="case.intake.recorded.v1", headers={"traceparent": TRACEPARENT})  # type: ignore[arg-type]
    deliveries = Delivery.received(msg, events, durable="d", tracer=provider.get_tracer("t"))
    assert [d.envelope for d in deliveries] == events
    for delivery in deliveries:
        with delivery.traced():
            pass
    spans = exporter.get_finished_spans()
    assert len(spans) == 3
    assert {format(s.context.trace_id, "032x") for s in spans} == {TRACE_ID}
    assert all(s.parent is not None for s in spans)
    assert {format(s.parent.span_id, "016x") for s in spans if s.parent} == {PARENT_ID}
    assert len({s.context.span_id for s in spans}) == 3  # a span each, not one shared


def test_events_of_a_merged_carrier_are_each_handled_in_their_own_reports_trace() -> None:
    """A batch's intakes travel as one carrier whose headers name the first report's trace;
    each carried event keeps its own (shared/carried.py `merged`)."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    other_trace, other_parent = "1" * 32, "2" * 16
    traceparents = [TRACEPARENT, f"00-{other_trace}-{other_parent}-01", None]
    events = [
        Envelope.wrap(
            ReportLinked(report_id=f"rep-{n}", case_id="case-1"),
            source="case_tracking",
            subject=f"rep-{n}",
            correlation_id=f"rep-{n}",
            traceparent=traceparent,
        )
        for n, traceparent in enumerate(traceparents)
    ]
    msg = Msg(_client=None, subject="case.intake.recorded.v1", headers={"traceparent": TRACEPARENT})  # type: ignore[arg-type]
    for delivery in Delivery.received(msg, events, durable="d", tracer=provider.get_tracer("t")):
        with delivery.traced():
            pass
    spans = exporter.get_finished_spans()
    assert [format(s.context.trace_id, "032x") for s in spans] == [TRACE_ID, other_trace, TRACE_ID]
    assert [format(s.parent.span_id, "016x") for s in spans if s.parent] == [
        PARENT_ID,
        other_parent,
        PARENT_ID,
    ]
