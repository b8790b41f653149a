"""The event envelope: wrapping, parsing and following versioned payloads."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from pydantic import ValidationError

from shared.contracts.cases import CaseOpened, ReportLinked
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.events import Envelope, new_id

pytestmark = pytest.mark.unit

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def filed() -> ReportFiled:
    return ReportFiled(
        report_id="rep-1",
        school_id="school-1",
        category=ReportCategory.self_harm,
        severity=Severity.critical,
        immediate_danger=True,
        child_ref="child-abc",
        community_officer_id="officer-1",
        social_org_id="org-1",
        filed_by="teacher-1",
        filed_at=datetime(2024, 2, 1, 9, 0, tzinfo=UTC),
    )


def wrapped() -> Envelope:
    return Envelope.wrap(
        filed(),
        source="school_liaison",
        subject="rep-1",
        correlation_id="corr-1",
        traceparent=TRACEPARENT,
    )


def test_wrap_parse_round_trip() -> None:
    env = wrapped()
    assert (env.type, env.version) == ("school.report.filed", 1)
    assert (env.source, env.subject, env.correlation_id) == ("school_liaison", "rep-1", "corr-1")
    assert env.causation_id is None
    assert env.parse(ReportFiled) == filed()


def test_round_trip_through_json() -> None:
    env = wrapped()
    again = Envelope.model_validate_json(env.model_dump_json())
    assert again == env
    assert again.parse(ReportFiled) == filed()


def test_each_envelope_gets_its_own_id() -> None:
    assert wrapped().id != wrapped().id


def test_ids_are_uuid7_and_sort_by_the_time_they_were_made() -> None:
    # Time first, so a store's index of ids grows at its end (docs/design.md).
    times = [1_700_000_000_000, 1_700_000_000_001, 1_700_000_060_000, 2_000_000_000_000]
    ids = [new_id(ms=t) for t in reversed(times) for _ in range(50)]
    assert [int(i[:12], 16) for i in sorted(ids)] == [t for t in times for _ in range(50)]
    for i in ids:
        parsed = uuid.UUID(hex=i)
        assert (len(i), parsed.version, parsed.variant) == (32, 7, uuid.RFC_4122)
    assert len(set(ids)) == len(ids)  # 74 random bits apart within a millisecond


def test_an_id_made_now_carries_now() -> None:
    before = datetime.now(UTC).timestamp() * 1000
    made = int(new_id()[:12], 16)
    after = datetime.now(UTC).timestamp() * 1000
    assert before - 1 <= made <= after + 1


def test_parse_with_the_wrong_model_raises() -> None:
    with pytest.raises(ValueError, match=r"school\.report\.filed\.v1"):
        wrapped().parse(CaseOpened)


def test_parse_with_the_wrong_version_raises() -> None:
    env = wrapped().model_copy(update={"version": 2})
    with pytest.raises(ValueError, match="v2"):
        env.parse(ReportFiled)


def test_parse_rejects_unknown_payload_fields() -> None:
    env = wrapped()
    env = env.model_copy(update={"data": {**env.data, "name": "Zhang Xiaoming"}})
    with pytest.raises(ValidationError):
        env.parse(ReportFiled)


def test_follow_keeps_correlation_and_trace_and_sets_causation() -> None:
    cause = wrapped()
    effect = cause.follow(
        ReportLinked(report_id="rep-1", case_id="case-1"), source="case_tracking", subject="rep-1"
    )
    assert effect.correlation_id == cause.correlation_id == "corr-1"
    assert effect.traceparent == TRACEPARENT
    assert effect.causation_id == cause.id
    assert effect.id != cause.id
    assert (effect.type, effect.source) == ("case.report.linked", "case_tracking")
    assert effect.parse(ReportLinked) == ReportLinked(report_id="rep-1", case_id="case-1")


def test_nats_subject_is_type_dot_version() -> None:
    assert wrapped().nats_subject == "school.report.filed.v1"
    assert ReportFiled.nats_subject() == "school.report.filed.v1"
    assert CaseOpened.nats_subject() == "case.opened.v1"
