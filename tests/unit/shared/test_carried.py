"""Carriers unpacked: every carrier contract is known, and a carrier holds only its own
publisher's events."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.asyncapi import contracts
from shared.carried import CARRIERS, ForgedCarrier, handed, merged, unpacked
from shared.contracts.cases import (
    CaseIdentityFlagged,
    IntakeRecorded,
    ReportLinked,
    TaskAcknowledged,
)
from shared.events import Carrier, Envelope, EventData
from shared.streams import CARRIED, ConsumerSpec, consumer_config


def _event(data: EventData, *, source: str = "case_tracking") -> Envelope:
    return Envelope.wrap(data, source=source, subject="s", correlation_id="c")


LINKED = _event(ReportLinked(report_id="r", case_id="c"))
FLAGGED = _event(CaseIdentityFlagged(case_id="c", report_id="r", school_id="s"))
ACKED = _event(
    TaskAcknowledged(
        task_id="t", case_id="c", acknowledged_by="u", acknowledged_at=datetime.now(UTC)
    )
)


def test_every_carrier_contract_is_unpacked_and_routed() -> None:
    """A carrier missing from CARRIERS would reach handlers as one unknown event (lost), one
    missing from CARRIED would reach none of its events' consumers."""
    declared = {m.nats_subject(): m for m in contracts() if issubclass(m, Carrier)}
    assert declared == CARRIERS
    assert set(CARRIED) == set(CARRIERS)


def test_a_consumer_of_a_carried_event_is_sent_its_carriers_too() -> None:
    """Derived, not listed by hand: a new consumer of task.created cannot miss the intake's."""
    tasks = ConsumerSpec("CASES", "t", "task.created.v1")
    assert tasks.subjects == ("task.created.v1", "case.intake.recorded.v1")
    assert consumer_config(tasks).filter_subjects == list(tasks.subjects)
    everything = ConsumerSpec("CASES", "a", "case.>", more_subjects=("task.>",))
    assert everything.subjects == ("case.>", "task.>")  # the carrier's subject is matched
    closed = ConsumerSpec("CASES", "c", "case.closed.v1")
    assert closed.subjects == ("case.closed.v1",)
    assert consumer_config(closed).filter_subject == "case.closed.v1"


def test_an_event_alone_is_itself_and_a_carrier_is_its_events_in_order() -> None:
    assert unpacked(LINKED) == [LINKED]
    carrier = _event(IntakeRecorded(events=[LINKED, FLAGGED]))
    assert unpacked(carrier) == [LINKED, FLAGGED]


@pytest.mark.parametrize(
    "inside",
    [
        _event(ReportLinked(report_id="r", case_id="c"), source="school_liaison"),
        Envelope(
            type="school.report.filed",
            version=1,
            source="case_tracking",
            subject="r",
            correlation_id="c",
            data={},
        ),
        _event(IntakeRecorded(events=[LINKED])),
        ACKED,
    ],
    ids=[
        "another source",
        "a subject its publisher may not use",
        "a carrier in a carrier",
        "its publisher's event it may not hold",
    ],
)
def test_a_carrier_of_what_its_publisher_may_not_announce_is_refused(inside: Envelope) -> None:
    with pytest.raises(ForgedCarrier):
        unpacked(_event(IntakeRecorded(events=[LINKED, inside])))


def test_a_carrier_that_does_not_decode_is_refused() -> None:
    broken = LINKED.model_copy(
        update={"type": IntakeRecorded.TYPE, "data": {"events": [{"id": 1}]}}
    )
    with pytest.raises(ValidationError, match="events"):
        unpacked(broken)
    with pytest.raises(ValidationError, match="at least 1"):  # it carries at least one event
        unpacked(LINKED.model_copy(update={"type": IntakeRecorded.TYPE, "data": {"events": []}}))


def test_a_consumer_is_handed_the_carried_events_its_subjects_match() -> None:
    carrier = _event(IntakeRecorded(events=[LINKED, FLAGGED]))
    assert handed(carrier, ("case.report.linked.v1",)) == [LINKED]
    assert handed(carrier, ("case.>",)) == [LINKED, FLAGGED]
    assert handed(carrier, ("task.>", "case.identity.flagged.v1")) == [FLAGGED]
    assert handed(carrier, ("case.intake.recorded.v1",)) == []


def test_an_event_alone_is_handed_as_it_came() -> None:
    """The server filtered it; its subject may carry keys its type does not name."""
    assert handed(ACKED, ("case.>",)) == [ACKED]


LINKED_2 = _event(ReportLinked(report_id="r2", case_id="c"))


def _intake(*events: Envelope, source: str = "case_tracking") -> Envelope:
    return _event(IntakeRecorded(events=list(events)), source=source)


def _carried_ids(envelope: Envelope) -> list[str]:
    return [e.id for e in unpacked(envelope)]


def test_consecutive_carriers_of_one_subject_and_source_travel_as_one() -> None:
    first, second, third = _intake(LINKED), _intake(FLAGGED, LINKED_2), _intake(LINKED)
    [one] = merged([first, second, third])
    assert _carried_ids(one) == [LINKED.id, FLAGGED.id, LINKED_2.id, LINKED.id]
    assert (one.id, one.correlation_id, one.traceparent) == (
        first.id,
        first.correlation_id,
        first.traceparent,
    )
    assert [e.id for e in merged([first])] == [first.id]
    assert merged([]) == []


def test_carriers_merge_only_next_to_each_other_and_from_one_source() -> None:
    first, other = _intake(LINKED), _intake(FLAGGED, source="school_liaison")
    apart = [first, LINKED, _intake(LINKED_2)]
    assert merged(apart) == apart
    assert merged([first, other]) == [first, other]
    assert merged([LINKED, FLAGGED]) == [LINKED, FLAGGED]  # events alone stay alone


def test_a_merged_carrier_holds_at_most_its_bound_and_loses_nothing() -> None:
    carriers = [_intake(LINKED, FLAGGED) for _ in range(7)]
    out = merged(carriers, most=5)
    assert [len(unpacked(c)) for c in out] == [4, 4, 4, 2]
    assert [i for c in out for i in _carried_ids(c)] == [LINKED.id, FLAGGED.id] * 7
