"""Counselling's use cases on a real SQLite store: the list sealed, sessions recorded, an
acute-risk record filing a concern report through the core path, missed and overdue alerts."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.school_liaison import service as reports
from services.school_liaison import store as school_store
from services.school_liaison.counselling import demo, service, sessions, store, sweep
from services.school_liaison.domain import Disclosure
from services.school_liaison.privacy import Sealer
from shared.contracts.alerts import SchoolAlertRaised
from shared.contracts.counselling import (
    CounsellingEntryAdded,
    CounsellingEntryCreate,
    CounsellingSessionRecorded,
    SessionRecord,
    SessionSchedule,
    SessionStatus,
)
from shared.contracts.school import ReportCreate, ReportFiled, Severity
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port, unit_of_work

SEALER = Sealer(base64.b64encode(bytes(range(32))).decode())
TEACHER = Principal(user_id="teacher4", role=Role.teacher, school_id="sch-04")
SOCIAL = Principal(user_id="social1", role=Role.social_worker, org_id="org-rainbow")
OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=("sch-04",))
STRANGER = Principal(user_id="officer7", role=Role.police_officer, school_ids=("sch-19",))
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
STUDENT = {"name": "Zhao Lei", "id_number": "140502201203034457", "grade": "Grade 8"}
NOTE = "Talks of running away from home"
ENTRY = CounsellingEntryCreate.model_validate(
    {"school_id": "sch-04", "reason": "truancy", "student": STUDENT}
)
WHEN = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCHEDULE = SessionSchedule(
    scheduled_at=WHEN, counsellor_id="social1", counsellor_role="social_worker", place="Room 3"
)
GRACE = timedelta(hours=24)


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(
        tmp_path, component="school_liaison", migrations=school_store.MIGRATIONS
    )
    for migration in store.MIGRATIONS:
        await migration.step(opened)
    await school_store.seed_demo_schools(opened)
    yield opened
    await opened.close()


async def _listed(rt: StoreUnits) -> str:
    entry, _ = await service.add_entry(rt, sealer=SEALER, caller=TEACHER, body=ENTRY)
    return entry.id


async def _scheduled(rt: StoreUnits) -> str:
    entry_id = await _listed(rt)
    return (
        await sessions.schedule(
            rt, caller=TEACHER, entry_id=entry_id, body=SCHEDULE, counsellor=demo.SCOPE
        )
    ).id


async def test_an_entry_is_sealed_at_rest_and_announced_by_pseudonym(
    port: Store, tmp_path: Path
) -> None:
    rt = StoreUnits(port)
    entry, opened = await service.add_entry(rt, sealer=SEALER, caller=TEACHER, body=ENTRY)
    assert opened == {"student": STUDENT}
    assert entry.child_ref == SEALER.child_ref(ENTRY.student, school_id="sch-04")  # type: ignore[arg-type]
    [event] = rt.events
    assert event.parse(CounsellingEntryAdded).child_ref == entry.child_ref
    files = [tmp_path / f"school_liaison.db{tail}" for tail in ("", "-wal")]
    stored = b"".join(f.read_bytes() for f in files if f.exists())
    assert entry.id.encode() in stored  # the search does see what was written
    for secret in (*STUDENT.values(), "Lei"):
        assert secret.encode() not in stored, secret
        assert secret not in event.model_dump_json(), secret


async def test_the_same_student_twice_is_a_conflict_and_strangers_are_refused(port: Store) -> None:
    rt = StoreUnits(port)
    await _listed(rt)
    with pytest.raises(Conflict):
        await _listed(rt)
    with pytest.raises(NotAllowed):
        await service.add_entry(rt, sealer=SEALER, caller=STRANGER, body=ENTRY)
    unknown = ENTRY.model_copy(update={"school_id": "sch-99"})
    with pytest.raises(InvalidField) as refused:
        await service.add_entry(rt, sealer=SEALER, caller=TEACHER, body=unknown)
    assert refused.value.loc == ["body", "school_id"]
    assert await port.count(store.ENTRIES_C) == 1


async def test_an_entry_from_a_case_takes_the_childs_details_from_its_reports(port: Store) -> None:
    rt = StoreUnits(port)
    body = ReportCreate.model_validate(
        {"school_id": "sch-04", "category": "truancy", "description": "Absent", "student": STUDENT}
    )
    filed = await reports.file_report(
        rt, sealer=SEALER, caller=TEACHER, body=body, idempotency_key=None
    )
    by_ref = CounsellingEntryCreate(
        school_id="sch-04", reason="truancy", child_ref=filed.report.child_ref
    )
    entry, opened = await service.add_entry(rt, sealer=SEALER, caller=OFFICER, body=by_ref)
    assert entry.child_ref == filed.report.child_ref
    assert opened is not None
    assert opened["student"]["name"] == "Zhao Lei"
    # A pseudonym the caller has no report of is the same answer as one that does not exist.
    foreign = by_ref.model_copy(update={"school_id": "sch-19"})
    for caller, body_ in (
        (STRANGER, foreign),
        (TEACHER, by_ref.model_copy(update={"child_ref": "child-nobody"})),
    ):
        with pytest.raises((InvalidField, NotAllowed)):
            await service.add_entry(rt, sealer=SEALER, caller=caller, body=body_)


async def test_the_desk_sees_the_list_without_the_student(port: Store) -> None:
    rt = StoreUnits(port)
    await _listed(rt)
    desk, _ = await service.list_entries(
        port, sealer=SEALER, caller=DESK, school_id="sch-04", limit=10, after=None
    )
    [(_, shown)] = desk
    assert (shown.level, shown.opened) == (Disclosure.minimal, None)
    staff, _ = await service.list_entries(
        port, sealer=SEALER, caller=TEACHER, school_id="sch-04", limit=10, after=None
    )
    assert staff[0][1].opened == {"student": STUDENT}
    with pytest.raises(NotFound):
        await service.list_entries(
            port, sealer=SEALER, caller=STRANGER, school_id="sch-04", limit=10, after=None
        )


async def test_an_acute_risk_record_files_a_critical_report_about_the_same_child(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    session_id = await _scheduled(rt)
    rt.events.clear()
    record = SessionRecord(state=1, acute_risk=True, note=NOTE)
    held, _shown = await sessions.record(
        rt, sealer=SEALER, caller=SOCIAL, session_id=session_id, body=record
    )
    assert held.status is SessionStatus.held
    assert held.report_id is not None
    filed = next(e.parse(ReportFiled) for e in rt.events if e.type == ReportFiled.TYPE)
    assert (filed.report_id, filed.severity, filed.child_ref) == (
        held.report_id,
        Severity.critical,
        held.child_ref,
    )
    assert filed.filed_by == "social1"
    recorded = next(e for e in rt.events if e.type == CounsellingSessionRecorded.TYPE)
    assert recorded.parse(CounsellingSessionRecorded).state == 1
    assert all(NOTE not in e.model_dump_json() for e in rt.events)
    opened = await reports.read_report(
        port, sealer=SEALER, caller=TEACHER, report_id=filed.report_id
    )
    assert opened.private is not None
    assert NOTE in opened.private["description"]
    timeline, _ = await sessions.sessions_of(
        port, sealer=SEALER, caller=TEACHER, entry_id=held.entry_id, limit=10, after=None
    )
    assert [(s.state, shown.opened) for s, shown in timeline] == [(1, {"note": NOTE})]
    entry = await store.get_entry(port, entry_id=held.entry_id)
    assert entry is not None
    assert entry.latest_state == 1
    with pytest.raises(Conflict):  # recorded once
        await sessions.record(rt, sealer=SEALER, caller=SOCIAL, session_id=session_id, body=record)


async def test_only_the_counsellor_records_and_a_refused_record_files_nothing(port: Store) -> None:
    rt = StoreUnits(port)
    session_id = await _scheduled(rt)
    rt.events.clear()
    record = SessionRecord(state=1, acute_risk=True, note=NOTE)
    with pytest.raises(NotAllowed):
        await sessions.record(rt, sealer=SEALER, caller=OFFICER, session_id=session_id, body=record)
    assert rt.events == []
    assert await port.count(school_store.REPORTS_C) == 0


async def test_a_missed_session_alerts_its_counsellor(port: Store) -> None:
    rt = StoreUnits(port)
    session_id = await _scheduled(rt)
    rt.events.clear()
    gone = await sessions.missed(rt, caller=TEACHER, session_id=session_id)
    assert gone.status is SessionStatus.missed
    alert = next(e.parse(SchoolAlertRaised) for e in rt.events if e.type == SchoolAlertRaised.TYPE)
    assert alert.recipients == ("user:social1",)
    assert alert.kind == "counselling_session_missed"


async def test_the_overdue_sweep_claims_each_session_once(port: Store) -> None:
    rt = StoreUnits(port)
    session_id = await _scheduled(rt)
    early, _ = await store.scheduled_before(port, cutoff=WHEN)
    assert early == []  # not due before its time
    later = WHEN + GRACE + timedelta(minutes=1)
    [due], _ = await store.scheduled_before(port, cutoff=later - GRACE)
    claims = []
    for _ in range(2):  # a second sweeper, or the next round
        async with unit_of_work(port) as uow:
            claims.append(await sweep.claim_overdue(uow, session_id=due.id, now=later, grace=GRACE))
            events = uow.events
        if claims[-1]:
            [alert] = events
            assert alert.parse(SchoolAlertRaised).kind == "counselling_session_overdue"
    assert claims == [True, False]
    stored = await store.get_session(port, session_id=session_id)
    assert stored is not None
    assert stored.alerted_at == later


async def test_the_demo_list_is_a_dozen_students_with_states_over_time_seeded_once(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    await demo.seed(rt, sealer=SEALER)
    await demo.seed(rt, sealer=SEALER)  # a restart: left as it is
    entries, _ = await store.entries_of_school(port, school_id="sch-04", limit=100)
    assert len(entries) == 12
    assert all(e.latest_state is not None for e in entries)
    held, _ = await store.sessions_of_entry(port, entry_id=entries[0].id, limit=100)
    assert [s.status for s in held] == [SessionStatus.held] * 3
