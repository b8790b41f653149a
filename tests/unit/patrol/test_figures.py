"""The year's figures from a known set of events, on a real SQLite store: every count as the
events say, the station's and a school's own, an event delivered twice counted once, other
years apart, percentiles by nearest rank, the CSV, a rebuild from scratch equal (from events
spread over the year, older than the 30 days streams used to keep), and the streams the
projection reads keep them that long."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.patrol.figures import domain, projection, service
from services.patrol.figures.counting import COUNTERS
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.cases import (
    CaseClosed,
    CaseMonitored,
    CaseOpened,
    DispositionRecorded,
    FollowUpRecorded,
    IntakeRecorded,
    TaskAcknowledged,
    TaskCompleted,
    TaskCreated,
    TaskEscalated,
)
from shared.contracts.counselling import CounsellingSessionMissed, CounsellingSessionRecorded
from shared.contracts.education import EducationEventRecorded
from shared.contracts.inspections import (
    InspectionRecorded,
    RectificationIssued,
    RectificationReinspected,
)
from shared.contracts.school import ReportFiled
from shared.contracts.venues import VenueInspected, VenueLetterSigned
from shared.contracts.video_patrol import VideoCheckRecorded
from shared.events import Envelope, EventData
from shared.identity import Principal, Role
from shared.store import Store
from shared.streams import PATROL_CONSUMERS, STREAMS, subject_matches
from shared.usecases import NotAllowed
from tests.unit.units import sqlite_port, unit_of_work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
SCHOOL1 = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
OFFICER = Principal(user_id="officer1", role=Role.police_officer)


def wrap(data: EventData, *, source: str, subject: str = "s", at: datetime = T0) -> Envelope:
    envelope = Envelope.wrap(data, source=source, subject=subject, correlation_id=subject)
    return envelope.model_copy(update={"time": at})


def report(
    n: int, school: str, category: str, severity: str, year: int = 2026, at: datetime = T0
) -> Envelope:
    filed = ReportFiled(
        report_id=f"rep-{n}",
        school_id=school,
        category=category,
        severity=severity,
        immediate_danger=False,
        child_ref=f"child-{n}",
        community_officer_id="officer1",
        social_org_id="org-rainbow",
        filed_by="teacher1",
        filed_at=at.replace(year=year),
    )
    return wrap(filed, source="school_liaison", at=at.replace(year=year))


def task(n: int, kind: str, school: str = "sch-01") -> Envelope:
    created = TaskCreated(
        task_id=f"task-{n}",
        case_id="case-1",
        school_id=school,
        kind=kind,
        title="t",
        agency="police",
        assignee_user_id="officer1",
        assignee_org_id=None,
        risk_level="high",
        due_at=T0 + timedelta(hours=4),
    )
    return wrap(created, source="case_tracking")


def ack(n: int, minutes: int) -> Envelope:
    acked = TaskAcknowledged(
        task_id=f"task-{n}",
        case_id="case-1",
        acknowledged_by="officer1",
        acknowledged_at=T0 + timedelta(minutes=minutes),
    )
    return wrap(acked, source="case_tracking")


def done(n: int, minutes: int) -> Envelope:
    completed = TaskCompleted(
        task_id=f"task-{n}",
        case_id="case-1",
        completed_by="officer1",
        completed_at=T0 + timedelta(minutes=minutes),
    )
    return wrap(completed, source="case_tracking", at=T0 + timedelta(minutes=minutes))


def escalated(n: int, level: str) -> Envelope:
    data = TaskEscalated(
        task_id=f"task-{n}",
        case_id="case-1",
        title="t",
        risk_level="high",
        level=level,
        ack_due_at=T0,
    )
    return wrap(data, source="case_tracking")


def disposition(n: int, case: str, kind: str) -> Envelope:
    data = DispositionRecorded(disposition_id=f"disp-{n}", case_id=case, kind=kind, by="officer1")
    return wrap(data, source="case_tracking", subject=case)


def monitored(case: str, *, follow_up: bool = False) -> Envelope:
    due = T0 + timedelta(days=30)
    if follow_up:
        data: EventData = FollowUpRecorded(
            case_id=case, by="social1", contact_type="home_visit", next_due_at=due
        )
    else:
        data = CaseMonitored(
            case_id=case, responsible_user_id="social1", interval_days=30, next_due_at=due
        )
    return wrap(data, source="case_tracking", subject=case, at=T0 + timedelta(days=60))


def issue_12() -> list[Envelope]:
    """Completions, escalations, dispositions and monitoring (the task lifecycle's events)."""
    return [
        done(1, 60),
        done(2, 120),
        done(5, 24 * 60),
        escalated(5, "desk"),
        escalated(5, "supervisor"),
        escalated(3, "desk"),
        disposition(1, "case-1", "detention_not_executed"),
        disposition(2, "case-1", "detention_not_executed"),
        disposition(3, "case-2", "education_with_school"),
        monitored("case-1"),
        monitored("case-1", follow_up=True),  # the same case: counted once
        monitored("case-2"),
    ]


def known() -> list[Envelope]:
    events = [
        report(1, "sch-01", "self_harm", "critical"),
        report(2, "sch-01", "truancy", "medium"),
        report(3, "sch-02", "truancy", "high"),
        report(4, "sch-02", "truancy", "medium", year=2025),  # another year
        report(6, "sch-03", "bullying_victim", "low", at=datetime(2026, 10, 20, tzinfo=UTC)),
        wrap(
            CaseOpened(case_id="case-1", child_ref="c", school_id="sch-01", risk_level="critical"),
            source="case_tracking",
        ),
        wrap(
            CaseOpened(case_id="case-2", child_ref="d", school_id="sch-02", risk_level="high"),
            source="case_tracking",
        ),
        wrap(CaseClosed(case_id="case-2", child_ref="d", closed_at=T0), source="case_tracking"),
        *(task(n, "home_visit") for n in range(1, 5)),
        task(5, "counselling", school="sch-02"),
        ack(1, 10),
        ack(2, 20),
        ack(3, 30),
        ack(4, 40),
        wrap(
            CounsellingSessionRecorded(
                session_id="s1",
                entry_id="e1",
                school_id="sch-04",
                child_ref="c",
                state=3,
                acute_risk=False,
                report_id=None,
                recorded_at=T0,
            ),
            source="school_liaison",
        ),
        wrap(
            CounsellingSessionMissed(
                session_id="s2",
                entry_id="e1",
                school_id="sch-04",
                child_ref="c",
                counsellor_id="social1",
                reported_by="sweep",
                at=T0,
            ),
            source="school_liaison",
        ),
        wrap(
            EducationEventRecorded(
                event_id="ed1",
                school_id="sch-01",
                term="2026-spring",
                topic="anti_fraud",
                held_on=date(2026, 3, 2),
                audience=120,
                participants_by_role={"police_officer": 1},
                recorded_by="officer1",
            ),
            source="school_liaison",
        ),
        wrap(
            InspectionRecorded(
                inspection_id="i1",
                school_id="sch-01",
                officer_id="officer1",
                failed_items=("cctv",),
                inspected_at=T0,
            ),
            source="patrol",
        ),
        wrap(
            RectificationIssued(
                notice_id="n1", inspection_id="i1", school_id="sch-01", item="cctv", deadline=T0
            ),
            source="patrol",
        ),
        wrap(
            PatrolAlertRaised(
                alert_id="a1",
                kind="rectification_overdue",
                recipients=("role:dispatcher",),
                title="t",
                school_id="sch-01",
            ),
            source="patrol",
            subject="n1",
        ),
        wrap(
            RectificationReinspected(
                notice_id="n1",
                school_id="sch-01",
                officer_id="officer1",
                passed=True,
                deadline=T0,
                at=T0,
            ),
            source="patrol",
        ),
        wrap(
            VenueInspected(
                inspection_id="v1",
                venue_id="ven-1",
                kind="hotel",
                officer_id="officer2",
                failed_items=("fire_safety",),
                inspected_at=T0,
            ),
            source="patrol",
        ),
        wrap(
            RectificationIssued(
                notice_id="n2",
                inspection_id="v1",
                school_id="ven-1",
                item="fire_safety",
                deadline=T0,
                venue_id="ven-1",
            ),
            source="patrol",
        ),
        *(
            wrap(
                VenueLetterSigned(
                    venue_id=v,
                    kind="hotel",
                    signed_on=date(2026, 1, 10),
                    expires_on=date(2029, 1, 9),
                ),
                source="patrol",
            )
            for v in ("ven-1", "ven-2", "ven-1")  # ven-1 signed twice: one venue
        ),
        *issue_12(),
    ]
    for day, schools in ((1, 3), (2, 2), (3, 3)):
        for s in range(1, schools + 1):
            check = VideoCheckRecorded(
                check_id=f"vpc-{day}-{s}",
                day=date(2026, 3, day),
                school_id=f"sch-{s:02d}",
                officer_id="officer7",
                finding_kinds=(),
                checked_at=T0,
            )
            events.append(wrap(check, source="patrol"))
    return events


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(
        tmp_path, component=projection.COMPONENT, migrations=projection.MIGRATIONS
    )
    yield opened
    await opened.close()


async def project(port: Store, events: list[Envelope]) -> None:
    for event in events:
        async with unit_of_work(port) as uow:
            await projection.apply(uow.tx, event)


async def test_the_figures_are_what_the_events_say(port: Store) -> None:
    events = known()
    await project(port, [*events, events[0], events[10]])  # two delivered twice
    got = await service.figures(port, caller=DESK, year=2026, schools=3)
    assert got.reports_by_category == {"self_harm": 1, "truancy": 2, "bullying_victim": 1}
    assert got.reports_by_severity == {"critical": 1, "medium": 1, "high": 1, "low": 1}
    assert got.reports_by_school == {"sch-01": 2, "sch-02": 1, "sch-03": 1}
    assert (got.cases_opened, got.cases_closed, got.cases_under_monitoring) == (2, 1, 2)
    visits = got.tasks_by_kind["home_visit"]
    assert (visits.created, visits.acknowledged, visits.completed) == (4, 4, 2)
    assert (visits.ack_median_s, visits.ack_p90_s) == (1200.0, 2400.0)
    assert (visits.done_median_s, visits.done_p90_s) == (3600.0, 7200.0)
    counselling = got.tasks_by_kind["counselling"]
    assert (counselling.acknowledged, counselling.ack_median_s) == (0, None)
    assert (counselling.completed, counselling.done_median_s) == (1, 86400.0)
    assert got.escalations == {"desk": 2, "supervisor": 1}
    assert got.dispositions_by_kind == {"detention_not_executed": 2, "education_with_school": 1}
    csv = service.as_csv(got).splitlines()
    for row in (
        "cases_under_monitoring,2",
        "escalations.supervisor,1",
        "dispositions_by_kind.detention_not_executed,2",
        "tasks_by_kind.home_visit.done_p90_s,7200.0",
    ):
        assert row in csv
    assert (got.counselling_held, got.counselling_missed) == (1, 1)
    assert (got.education_events, got.education_audience) == (1, 120)
    assert got.school_inspections.model_dump() == {
        "inspections": 1,
        "notices_issued": 1,
        "notices_closed": 1,
        "notices_overdue": 1,
    }
    assert (got.venue_inspections.inspections, got.venue_inspections.notices_issued) == (1, 1)
    assert got.venues_with_letters == 2
    assert (got.video_days_logged, got.video_days_complete) == (3, 2)
    last_year = await service.figures(port, caller=DESK, year=2025, schools=3)
    assert last_year.reports_by_category == {"truancy": 1}


async def test_a_school_sees_its_own_figures_only(port: Store) -> None:
    await project(port, known())
    own = await service.figures(port, caller=SCHOOL1, year=2026, schools=3)
    assert own.scope == "sch-01"
    assert own.reports_by_school == {"sch-01": 2}
    assert (own.cases_opened, own.cases_closed, own.cases_under_monitoring) == (1, 0, 1)
    assert own.escalations == {"desk": 1}
    assert own.dispositions_by_kind == {"detention_not_executed": 2}
    assert own.tasks_by_kind["home_visit"].completed == 2
    assert "counselling" not in own.tasks_by_kind
    assert own.venues_with_letters == 0
    with pytest.raises(NotAllowed):
        await service.figures(port, caller=OFFICER, year=2026, schools=3)


async def test_a_rebuild_from_scratch_gives_the_same_figures(port: Store) -> None:
    events = known()
    this_year = [e.time for e in events if e.time.year == 2026]
    assert max(this_year) - min(this_year) > timedelta(days=200)  # far past 30 days' streams
    await project(port, events)
    before = await service.figures(port, caller=DESK, year=2026, schools=3)
    counted = await service.rebuild(port, [*events, events[3]], batch=7)
    assert counted == len(events)  # each event once (a letter signed again is its own event)
    assert await service.figures(port, caller=DESK, year=2026, schools=3) == before
    assert await service.rebuild(port, [], batch=7) == 0
    empty = await service.figures(port, caller=DESK, year=2026, schools=3)
    assert empty.reports_by_category == {}


def test_percentiles_by_nearest_rank_and_the_csv() -> None:
    assert domain.percentile([], 50) is None
    assert domain.percentile([5.0], 90) == 5.0
    assert domain.percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 90) == 9.0
    rows = dict(domain.csv_rows({"a": {"b": 1, "c": None}, "d": ["x", "y"]}))
    assert rows == {"a.b": "1", "a.c": "", "d": "x;y"}


def test_the_projection_is_sent_exactly_the_events_it_counts() -> None:
    """Filtered on the server: no delivery the figures throw away, none they miss."""
    counted = {model.nats_subject() for model in COUNTERS}
    # A report's intake comes as one carrier of counted events (case.opened, task.created);
    # the consumer is handed those alone (shared/carried.py).
    carriers = {IntakeRecorded.nats_subject()}
    sent = [s for spec in PATROL_CONSUMERS for s in spec.subjects]
    assert sorted(sent) == sorted(counted | carriers)


def test_the_streams_the_figures_read_keep_more_than_a_year() -> None:
    """A year can be rebuilt from the streams until early February of the next."""
    for spec in PATROL_CONSUMERS:
        stream = next(s for s in STREAMS if s.name == spec.stream)
        assert all(any(subject_matches(p, s) for p in stream.subjects) for s in spec.subjects)
        assert stream.max_age_days >= 400
