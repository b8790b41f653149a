"""The schools' programme's store queries on SQLite and PostgreSQL (every_store): keyset pages
over several schools, range prefilters of the sweeps, counts, the per-school figures."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.patrol.inspections import service as inspections
from services.patrol.inspections import store as inspection_store
from services.school_liaison import store as school_store
from services.school_liaison.counselling import demo as counselling_demo
from services.school_liaison.counselling import service as counselling
from services.school_liaison.counselling import sessions as counselling_sessions
from services.school_liaison.counselling import store as counselling_store
from services.school_liaison.privacy import Sealer
from shared.contracts.counselling import CounsellingEntryCreate, SessionSchedule
from shared.contracts.inspections import InspectionCreate, ItemResult
from shared.identity import Principal, Role
from shared.store import Store, open_store
from shared.store.migrations import migrate
from tests.support import StoreUrl, every_store
from tests.unit.units import StoreUnits

__all__ = ["every_store"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01", "sch-02"))
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
TEACHER = Principal(user_id="teacher4", role=Role.teacher, school_id="sch-04")
SEALER = Sealer(base64.b64encode(bytes(range(32))).decode())
CODES = ("one_button_alarm", "gate_staff", "cctv", "fire_equipment")


@pytest.fixture
async def patrol(store_url: StoreUrl) -> AsyncIterator[Store]:
    port = await open_store(await store_url("patrol"))
    await migrate(
        port, component=inspection_store.COMPONENT, migrations=inspection_store.MIGRATIONS
    )
    yield port
    await port.close()


@pytest.fixture
async def liaison(store_url: StoreUrl) -> AsyncIterator[Store]:
    port = await open_store(await store_url("school_liaison"))
    await migrate(port, component="school_liaison", migrations=school_store.MIGRATIONS)
    await migrate(
        port, component=counselling_store.COMPONENT, migrations=counselling_store.MIGRATIONS
    )
    await school_store.seed_demo_schools(port)
    yield port
    await port.close()


async def test_notices_page_across_an_officers_schools_and_the_sweep_finds_the_overdue(
    patrol: Store,
) -> None:
    rt = StoreUnits(patrol)
    for n, school in enumerate(("sch-01", "sch-02", "sch-01")):
        failed = CODES[n % 2]  # gate_staff: 3 days; one_button_alarm: 3 days
        body = InspectionCreate(
            school_id=school, results=[ItemResult(item=c, passed=c != failed) for c in CODES]
        )
        await inspections.inspect(rt, caller=OFFICER, body=body, now=T0 + timedelta(hours=n))
    pages, after = [], None
    while True:
        page, after = await inspections.notices(
            patrol, caller=OFFICER, school_id=None, status=None, limit=2, after=after
        )
        pages.append([n.id for n in page])
        if after is None:
            break
    assert [len(p) for p in pages] == [2, 1]
    deadlines = [
        n.deadline
        for n in (
            await inspection_store.notices(patrol, schools=None, status=None, limit=10, after=None)
        )[0]
    ]
    assert deadlines == sorted(deadlines)
    past, _ = await inspection_store.open_past(patrol, now=T0 + timedelta(days=3, minutes=30))
    assert len(past) == 1  # only the first is past its three days then
    assert (
        await inspection_store.overdue_count(patrol, school_id="sch-01", now=T0 + timedelta(days=4))
        == 2
    )
    figures, _ = await inspections.figures(patrol, caller=DESK, limit=1, after=None, now=T0)
    assert [(f.school_id, f.inspections) for f in figures] == [("sch-01", 2)]


async def test_counselling_pages_and_the_overdue_prefilter(liaison: Store) -> None:
    rt = StoreUnits(liaison)
    ids = []
    for n in range(3):
        body = CounsellingEntryCreate(
            school_id="sch-04", reason="truancy", student={"name": f"Student {n}"}
        )
        entry, _ = await counselling.add_entry(rt, sealer=SEALER, caller=TEACHER, body=body)
        ids.append(entry.id)
        slot = SessionSchedule(
            scheduled_at=T0 + timedelta(days=n),
            counsellor_id="social1",
            counsellor_role="social_worker",
            place="Room 3",
        )
        await counselling_sessions.schedule(
            rt, caller=TEACHER, entry_id=entry.id, body=slot, counsellor=counselling_demo.SCOPE
        )
    first, after = await counselling.list_entries(
        liaison, sealer=SEALER, caller=TEACHER, school_id="sch-04", limit=2, after=None
    )
    rest, end = await counselling.list_entries(
        liaison, sealer=SEALER, caller=TEACHER, school_id="sch-04", limit=2, after=after
    )
    assert [e.id for e, _ in first + rest] == ids
    assert end is None
    due, _ = await counselling_store.scheduled_before(liaison, cutoff=T0 + timedelta(days=1))
    assert len(due) == 1  # strictly before: the second session is exactly at the cutoff
