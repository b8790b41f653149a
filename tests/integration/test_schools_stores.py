"""The schools' programme's store queries on SQLite and PostgreSQL (every_store): keyset pages
over several schools, range prefilters of the sweeps, counts, the per-school figures."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.patrol.inspections import checklist
from services.patrol.inspections import service as inspections
from services.patrol.inspections import store as inspection_store
from services.school_liaison import store as school_store
from services.school_liaison.counselling import demo as counselling_demo
from services.school_liaison.counselling import service as counselling
from services.school_liaison.counselling import sessions as counselling_sessions
from services.school_liaison.counselling import store as counselling_store
from services.school_liaison.privacy import Sealer
from services.school_liaison.retention import erase_child
from shared.contracts.counselling import (
    CounsellingEntryCreate,
    EntryRemoval,
    RemovalReason,
    SessionSchedule,
)
from shared.contracts.inspections import ChecklistKind, InspectionCreate, ItemResult
from shared.identity import Principal, Role
from shared.store import Store, open_store
from shared.store.migrations import migrate
from tests.support import StoreUrl, every_store
from tests.unit.units import StoreUnits, unit_of_work

__all__ = ["every_store"]

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01", "sch-02"))
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
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


async def test_checklists_per_kind_move_retire_and_page(patrol: Store) -> None:
    # A school item of the old shape (keyed by its code, no kind) is moved by migration 3.
    old = {"id": "door_locks", "code": "door_locks", "label": "Door locks", "deadline_days": 5}
    await patrol.put(inspection_store.CHECKLIST_C, old)
    await inspection_store.MIGRATIONS[2].step(patrol)
    school = await inspection_store.checklist(patrol, kind=ChecklistKind.school)
    assert sorted(i.code for i in school) == sorted([*CODES, "door_locks"])
    rt = StoreUnits(patrol)
    await checklist.retire_item(rt, caller=SUPERVISOR, kind=ChecklistKind.school, code="cctv")
    hotel = await inspection_store.checklist(patrol, kind=ChecklistKind.hotel)
    assert len(hotel) == 7  # the five checks, signs, fire safety: untouched
    paged: list[str] = []
    after = None
    while True:
        page, after = await inspection_store.checklist_page(
            patrol, kind=ChecklistKind.school, retired=True, limit=2, after=after
        )
        paged += [i.code for i in page]
        if after is None:
            break
    assert paged == sorted([*CODES, "door_locks"])  # retired ones too, each once, by code
    active, _ = await inspection_store.checklist_page(
        patrol, kind=ChecklistKind.school, retired=False, limit=10, after=None
    )
    assert "cctv" not in {i.code for i in active}


async def test_a_child_only_on_a_list_is_erased_after_removal(liaison: Store) -> None:
    rt = StoreUnits(liaison)
    body = CounsellingEntryCreate(
        school_id="sch-04", reason="truancy", student={"name": "Listed Only"}
    )
    entry, _ = await counselling.add_entry(rt, sealer=SEALER, caller=TEACHER, body=body)
    removal = EntryRemoval(reason=RemovalReason.left_school)
    await counselling.remove_entry(rt, caller=TEACHER, entry_id=entry.id, body=removal)
    [found] = await counselling_store.entries_of_child(liaison, child_ref=entry.child_ref)
    assert found.removed_at is not None
    retention = timedelta(days=30)
    late = datetime.now(UTC) + retention + timedelta(days=1)
    async with unit_of_work(liaison) as uow:
        assert await erase_child(uow, child_ref=entry.child_ref, retention=retention, now=late)
    [erased] = await counselling_store.entries_of_child(liaison, child_ref=entry.child_ref)
    assert erased.sealed is None
    assert await school_store.get_child_key(liaison, child_ref=entry.child_ref) is None
