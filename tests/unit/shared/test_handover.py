"""Which retired durables' marks a successor looks for, and over which stretch of its stream
(shared/handover.py): nowhere for a durable that replaced none, nowhere past the stretch."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from nats.aio.msg import Msg
from opentelemetry.trace import NoOpTracer

from shared.contracts.cases import ReportLinked
from shared.delivery import Delivery
from shared.events import Envelope
from shared.handover import (
    AT,
    LAST_SEQ,
    NOTHING,
    PENDING,
    SKEW,
    Handover,
    Stretch,
    predecessors,
    stretch_of,
)
from shared.streams import CONSUMERS, PATROL_CASES, RETIRED, SCHOOL_LIAISON_VIDEO_CONCERNS

pytestmark = pytest.mark.unit


def delivery(stream_seq: int) -> Delivery:
    envelope = Envelope.wrap(
        ReportLinked(report_id="rep-1", case_id="case-1"),
        source="case_tracking",
        subject="rep-1",
        correlation_id="rep-1",
    )
    reply = f"$JS.ACK.CASES.patrol-cases.1.{stream_seq}.{stream_seq}.1700000000000000000.0"
    msg = Msg(_client=None, subject="case.report.linked.v1", reply=reply)  # type: ignore[arg-type]
    (delivery,) = Delivery.received(msg, [envelope], durable="patrol-cases", tracer=NoOpTracer())
    return delivery


def test_a_successor_knows_the_durables_it_replaced_and_others_none() -> None:
    assert predecessors(PATROL_CASES) == ("patrol-tasks", "patrol-stats-cases")
    assert predecessors(SCHOOL_LIAISON_VIDEO_CONCERNS) == ()
    successors = {r.successor for r in RETIRED}
    assert {c.durable for c in CONSUMERS if predecessors(c)} == successors


def test_the_stretch_is_read_from_the_metadata() -> None:
    assert stretch_of(None) is NOTHING  # declared without taking over: nothing to look for
    assert stretch_of({"_nats.level": "1"}) is NOTHING
    assert stretch_of({LAST_SEQ: PENDING}) is None  # not final while the predecessors are there
    at = datetime(2026, 11, 30, 1, 0, tzinfo=UTC)
    assert stretch_of({LAST_SEQ: "42", AT: at.isoformat()}) == Stretch(42, at + SKEW)


def test_an_event_is_looked_up_if_it_is_in_the_stretch_or_older_than_the_hand_over() -> None:
    event = delivery(5)
    made = event.envelope.time
    assert Stretch(5).covers(event)
    assert not Stretch(4).covers(event)
    assert Stretch(4, made + timedelta(seconds=1)).covers(event)  # a replayed old event
    assert not Stretch(4, made).covers(event)


def test_until_the_stretch_is_read_every_event_may_be_a_predecessors() -> None:
    handover = Handover(PATROL_CASES)
    event = delivery(10**9)
    assert handover.markers(event) == [
        f"patrol-tasks:{event.envelope.id}",
        f"patrol-stats-cases:{event.envelope.id}",
    ]


def test_a_durable_that_replaced_none_looks_for_nothing() -> None:
    assert Handover(SCHOOL_LIAISON_VIDEO_CONCERNS).markers(delivery(1)) == []
