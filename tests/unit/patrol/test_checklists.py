"""The checklists as data on a real SQLite store: a store made before checklists had kinds is
moved to `school:<code>` keys (a supervisor's own item too), venue kinds are seeded, and an
item retired is no longer asked."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.patrol.inspections import checklist, domain, store
from shared.contracts.inspections import ChecklistItem, ChecklistItemView, ChecklistKind, ItemStatus
from shared.identity import Principal, Role
from shared.usecases import Conflict, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port

SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
SCHOOL, HOTEL = ChecklistKind.school, ChecklistKind.hotel
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01",))


async def test_a_store_of_the_old_shape_keeps_every_item_and_gains_the_venue_kinds(
    tmp_path: Path,
) -> None:
    port = await sqlite_port(tmp_path, component=store.COMPONENT, migrations=store.MIGRATIONS[:2])
    own = {"id": "door_locks", "code": "door_locks", "label": "Door locks", "deadline_days": 5}
    await port.put(store.CHECKLIST_C, own)
    try:
        for _ in range(2):  # safe to run again
            await store.MIGRATIONS[2].step(port)
        school = [i.code for i in await store.checklist(port, kind=ChecklistKind.school)]
        assert sorted(school) == sorted([*(i.code for i in domain.DEFAULT_CHECKLIST), "door_locks"])
        for old_key in ("door_locks", "cctv"):  # nothing left keyed by its code alone
            assert await port.get(store.CHECKLIST_C, old_key) is None
        assert await port.count(store.CHECKLIST_C) == 5 + sum(
            map(len, domain.VENUE_CHECKLISTS.values())
        )
        for kind, items in domain.VENUE_CHECKLISTS.items():
            found = await store.checklist(port, kind=kind)
            assert [i.code for i in found] == sorted(i.code for i in items), kind
    finally:
        await port.close()


async def test_retiring_an_item_drops_it_from_new_inspections_once(tmp_path: Path) -> None:
    port = await sqlite_port(tmp_path, component=store.COMPONENT, migrations=store.MIGRATIONS)
    rt = StoreUnits(port)
    try:
        with pytest.raises(NotAllowed):
            await checklist.retire_item(rt, caller=OFFICER, kind=ChecklistKind.school, code="cctv")
        with pytest.raises(NotFound):
            await checklist.retire_item(
                rt, caller=SUPERVISOR, kind=ChecklistKind.hotel, code="cctv"
            )
        retired = await checklist.retire_item(
            rt, caller=SUPERVISOR, kind=ChecklistKind.school, code="cctv"
        )
        assert retired.status is ItemStatus.retired
        with pytest.raises(Conflict):
            await checklist.retire_item(
                rt, caller=SUPERVISOR, kind=ChecklistKind.school, code="cctv"
            )
        active = await store.checklist(port, kind=ChecklistKind.school)
        assert "cctv" not in {i.code for i in active}
        both, _ = await store.checklist_page(
            port, kind=ChecklistKind.school, retired=True, limit=10, after=None
        )
        assert "cctv" in {i.code for i in both}
        again = ChecklistItem(code="cctv", label="CCTV", deadline_days=7)
        with pytest.raises(Conflict):  # a retired code is not reused
            await checklist.add_item(rt, caller=SUPERVISOR, item=again)
    finally:
        await port.close()


def test_retire_is_a_one_way_move() -> None:
    item = ChecklistItemView(code="cctv", label="CCTV", deadline_days=7)
    now = datetime(2026, 3, 2, tzinfo=UTC)
    retired = domain.retire(item, by="supervisor1", now=now)
    assert (retired.retired_at, retired.retired_by) == (now, "supervisor1")
    with pytest.raises(domain.Refusal):
        domain.retire(retired, by="admin1", now=now)
