"""Inspections' use cases on a real SQLite store: an inspection and its notices announced in
one transaction, refusals that leave nothing, views per school/officer/desk, the figures, the
overdue claim, and the demo term."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.patrol import store as patrol_store
from services.patrol.inspections import demo, service, store
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.inspections import (
    FixReport,
    InspectionCreate,
    InspectionRecorded,
    ItemResult,
    NoticeStatus,
    RectificationIssued,
    Reinspection,
)
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port, unit_of_work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01",))
OTHER_OFFICER = Principal(user_id="officer4", role=Role.police_officer, school_ids=("sch-10",))
SAFETY = Principal(user_id="safety1", role=Role.school_safety_lead, school_id="sch-01")
OTHER_TEACHER = Principal(user_id="teacher10", role=Role.teacher, school_id="sch-10")
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
CODES = ("one_button_alarm", "gate_staff", "cctv", "fire_equipment")


def body(*failed: str, school: str = "sch-01") -> InspectionCreate:
    results = [ItemResult(item=c, passed=c not in failed) for c in CODES]
    return InspectionCreate(school_id=school, results=results)


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="patrol", migrations=patrol_store.MIGRATIONS)
    for migration in store.MIGRATIONS:
        await migration.step(opened)
    yield opened
    await opened.close()


async def test_failed_items_become_notices_announced_with_the_inspection(port: Store) -> None:
    rt = StoreUnits(port)
    inspection, notices = await service.inspect(
        rt, caller=OFFICER, body=body("cctv", "gate_staff"), now=T0
    )
    assert sorted(n.item for n in notices) == ["cctv", "gate_staff"]
    assert inspection.notice_ids == [n.id for n in notices]
    types = [e.type for e in rt.events]
    assert types.count(RectificationIssued.TYPE) == 2
    recorded = next(
        e.parse(InspectionRecorded) for e in rt.events if e.type == InspectionRecorded.TYPE
    )
    assert set(recorded.failed_items) == {"cctv", "gate_staff"}
    told = [e.parse(PatrolAlertRaised) for e in rt.events if e.type == PatrolAlertRaised.TYPE]
    assert {a.recipients for a in told} == {("school:sch-01",)}
    [figures], _ = await service.figures(port, caller=SAFETY, limit=10, after=None, now=T0)
    assert (figures.inspections, figures.items_failed, figures.notices_open) == (1, 2, 2)
    later = T0 + timedelta(days=4)  # past gate_staff's three days, not cctv's fourteen
    [figures], _ = await service.figures(port, caller=DESK, limit=10, after=None, now=later)
    assert figures.overdue == 1


@pytest.mark.parametrize(
    ("caller", "request_", "error"),
    [
        (OTHER_OFFICER, body("cctv"), NotAllowed),
        (SAFETY, body("cctv"), NotAllowed),
        (OFFICER, InspectionCreate(school_id="sch-01", results=body().results[:2]), InvalidField),
    ],
    ids=["another-beat", "school-staff", "half-the-checklist"],
)
async def test_a_refused_inspection_leaves_nothing(
    port: Store, caller: Principal, request_: InspectionCreate, error: type[Exception]
) -> None:
    rt = StoreUnits(port)
    with pytest.raises(error):
        await service.inspect(rt, caller=caller, body=request_, now=T0)
    assert rt.events == []
    assert await port.count(store.INSPECTIONS_C) == 0
    assert await port.count(store.NOTICES_C) == 0


async def test_each_sees_their_schools_and_others_get_404(port: Store) -> None:
    rt = StoreUnits(port)
    await service.inspect(rt, caller=OFFICER, body=body("cctv"), now=T0)
    await service.inspect(rt, caller=OTHER_OFFICER, body=body("cctv", school="sch-10"), now=T0)
    mine, _ = await service.notices(
        port, caller=SAFETY, school_id=None, status=None, limit=10, after=None
    )
    assert {n.school_id for n in mine} == {"sch-01"}
    desk, _ = await service.inspections(port, caller=DESK, school_id=None, limit=10, after=None)
    assert {i.school_id for i in desk} == {"sch-01", "sch-10"}
    with pytest.raises(NotFound):
        await service.inspections(port, caller=OFFICER, school_id="sch-10", limit=10, after=None)
    with pytest.raises(NotFound):
        await service.report_fixed(
            rt, caller=OTHER_TEACHER, notice_id=mine[0].id, body=FixReport(note="x")
        )


async def test_fix_reinspect_and_close_keep_the_figures(port: Store) -> None:
    rt = StoreUnits(port)
    _, [notice] = await service.inspect(rt, caller=OFFICER, body=body("cctv"), now=T0)
    fixed = await service.report_fixed(
        rt, caller=SAFETY, notice_id=notice.id, body=FixReport(note="Replaced")
    )
    assert fixed.status is NoticeStatus.fixed_reported
    with pytest.raises(Conflict):
        await service.report_fixed(
            rt, caller=SAFETY, notice_id=notice.id, body=FixReport(note="Again")
        )
    with pytest.raises(InvalidField) as refused:
        await service.reinspect(
            rt, caller=OFFICER, notice_id=notice.id, body=Reinspection(passed=False)
        )
    assert refused.value.loc == ["body", "new_deadline"]
    closed = await service.reinspect(
        rt, caller=OFFICER, notice_id=notice.id, body=Reinspection(passed=True)
    )
    assert closed.status is NoticeStatus.closed
    [figures], _ = await service.figures(port, caller=OFFICER, limit=10, after=None)
    assert (figures.notices_open, figures.notices_closed) == (0, 1)


async def test_an_overdue_notice_is_claimed_once_per_deadline(port: Store) -> None:
    rt = StoreUnits(port)
    _, [notice] = await service.inspect(rt, caller=OFFICER, body=body("gate_staff"), now=T0)
    late = notice.deadline + timedelta(minutes=1)
    claims = []
    for _ in range(2):
        async with unit_of_work(port) as uow:
            claims.append(await service.claim_overdue(uow, notice_id=notice.id, now=late))
            events = uow.events
        if claims[-1]:
            [alert] = events
            told = alert.parse(PatrolAlertRaised)
            assert set(told.recipients) == {"school:sch-01", "user:officer1", "role:dispatcher"}
    assert claims == [True, False]


async def test_the_demo_term_inspects_every_school_and_fails_two_items(port: Store) -> None:
    rt = StoreUnits(port)
    await demo.seed(rt)
    await demo.seed(rt)  # a restart: left as it is
    assert await port.count(store.INSPECTIONS_C) == 21
    notices, _ = await service.notices(
        port, caller=DESK, school_id=None, status=None, limit=10, after=None
    )
    assert sorted((n.school_id, n.item) for n in notices) == [
        ("sch-03", "cctv"),
        ("sch-11", "fire_equipment"),
    ]
