"""A case's chronology on a real SQLite store: a change appends its own entries and reads none
of the earlier ones; stores from before keep theirs, moved into rows by a migration."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.case_tracking import service, store, views
from services.case_tracking.store import MIGRATIONS
from shared.contracts.cases import CHRONOLOGY_PAGE, ChronologyEntry
from shared.contracts.school import ReportFiled
from shared.runtime import UnitOfWork
from shared.store import Cursor, Store
from shared.store.migrations import migrate
from shared.usecases import NotAllowed, NotFound
from tests.unit.case_tracking.test_domain import first, report
from tests.unit.case_tracking.test_service import (
    FAR_OFFICER,
    SUPERVISOR,
    TEACHER_1,
    TEACHER_2,
    filed,
    take,
)
from tests.unit.units import Recording, StoreUnits, sqlite_port, sqlite_work

# A report's entry in the chronology: how often its text passes through the store says how
# many of the case's entries a change read and wrote.
FILED = "Concern report from"


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    port = await sqlite_port(tmp_path, component="case_tracking", migrations=MIGRATIONS)
    yield port
    await port.close()


async def _join(port: Store, steps: list[int], r: ReportFiled) -> tuple[int, int]:
    """The report taken in one transaction: (SQLite's steps, report entries carried)."""
    steps[0] = 0
    async with port.transaction() as tx:
        carried = Recording(tx)
        uow = UnitOfWork(carried)
        intake = await service.take_report(uow, report=r, cause=filed(r))
        await uow.flush()
    assert not intake.opened
    return steps[0], carried.carried(FILED)


async def test_a_report_joining_a_case_costs_the_same_however_long_its_chronology(
    port: Store,
) -> None:
    """A repeat report reads none of the case's earlier entries and writes only its own: its
    transaction does the same work for a child's third report and its thirtieth."""
    rt = StoreUnits(port)
    case_id = (await take(rt, report("rep-1"))).case.id
    await take(rt, report("rep-2"))
    steps = sqlite_work(port)
    third = await _join(port, steps, report("rep-3"))
    for n in range(4, 30):
        await take(rt, report(f"rep-{n}"))
    thirtieth = await _join(port, steps, report("rep-30"))
    assert third[1] == thirtieth[1] == 1, (third, thirtieth)  # its own entry, written once
    assert thirtieth[0] <= third[0] * 1.1, (third, thirtieth)
    case, _, _ = await service.read_case(port, caller=SUPERVISOR, case_id=case_id)
    assert [e.ref for e in case.chronology if e.kind == "report_filed"] == [
        f"rep-{n}" for n in range(1, 31)
    ]


async def test_the_migration_moves_each_cases_chronology_into_rows(tmp_path: Path) -> None:
    before = [m for m in MIGRATIONS if m.version < 8]
    port = await sqlite_port(tmp_path, component="case_tracking", migrations=before)
    await migrates_legacy_cases(port)
    await port.close()


async def migrates_legacy_cases(port: Store) -> None:
    """On a store at migration 7: case documents from before, their chronology embedded, over
    more than one page, and a case already in the new form, which is left as it is. A moved
    case reads as it did and goes on."""
    legacy = first().case.model_dump(mode="json", exclude={"chronology_len"})
    assert len(legacy["chronology"]) == 3
    docs = [{**legacy, "id": f"case-{n:03d}", "status": "closed"} for n in range(450)]
    await port.insert_many(store.CASES_C, docs)
    await port.put(store.CASES_C, {**legacy, "status": "open"})
    new = {**legacy, "id": "case-new", "status": "closed", "chronology_len": 0}
    del new["chronology"]
    await port.insert(store.CASES_C, new)

    assert await migrate(port, component="case_tracking", migrations=MIGRATIONS) == [8]
    assert await port.count(store.CHRONOLOGY_C) == 451 * 3
    case_id = legacy["id"]
    doc = await port.get(store.CASES_C, case_id)
    assert doc is not None
    assert "chronology" not in doc
    assert doc["chronology_len"] == 3
    rows = await port.find(store.CHRONOLOGY_C, where={"case_id": case_id}, order_by="seq")
    assert [(r["id"], r["seq"]) for r in rows] == [(f"{case_id}:{n:08d}", n) for n in range(3)]
    assert await port.get(store.CASES_C, "case-new") == new
    for doc in await port.find(store.CASES_C):
        assert "chronology" not in doc
        assert doc["chronology_len"] == (0 if doc["id"] == "case-new" else 3)

    case, _, _ = await service.read_case(port, caller=SUPERVISOR, case_id=case_id)
    assert case.model_dump(mode="json", exclude={"chronology_len"}) == legacy
    # A later report joins the moved case (its tasks were not copied) and appends after.
    await take(StoreUnits(port), report("rep-2"))
    case, _, _ = await service.read_case(port, caller=SUPERVISOR, case_id=case_id)
    assert case.chronology[:3] == first().case.chronology
    assert [e.kind for e in case.chronology[3:]] == ["report_filed", *["task_created"] * 2]
    assert (await port.get(store.CASES_C, case_id) or {})["chronology_len"] == 6


async def _long_case(port: Store) -> str:
    """A child's case with more entries than a case's answer carries: 40 reports."""
    rt = StoreUnits(port)
    case_id = (await take(rt, report("rep-1"))).case.id
    for n in range(2, 41):
        await take(rt, report(f"rep-{n}"))
    return case_id


async def _stored(port: Store, case_id: str) -> list[ChronologyEntry]:
    rows = await port.find(store.CHRONOLOGY_C, where={"case_id": case_id}, order_by="seq")
    return [ChronologyEntry.model_validate(r) for r in rows]


async def test_a_case_carries_its_chronologys_first_page_and_a_cursor_to_the_rest(
    port: Store,
) -> None:
    case_id = await _long_case(port)
    stored = await _stored(port, case_id)
    assert len(stored) > CHRONOLOGY_PAGE
    case, _, more = await service.read_case(port, caller=SUPERVISOR, case_id=case_id)
    assert more is not None
    view = views.full_view(case, more.encode())
    assert view.chronology == stored[:CHRONOLOGY_PAGE]
    assert view.chronology_after is not None
    # The view's cursor, as a client hands it back, leads through the rest once, in order.
    seen = list(view.chronology)
    after: Cursor | None = Cursor.decode(view.chronology_after)
    for _ in range(len(stored)):
        shown, page, after = await service.read_chronology(
            port, caller=SUPERVISOR, case_id=case_id, limit=7, after=after
        )
        assert shown.id == case_id
        seen += page
        if after is None:
            break
    assert after is None
    assert seen == stored

    # Closing answers the same way: the first page, and the rest (the closing last) after it.
    rt = StoreUnits(port)
    closed, more = await service.close_case(
        rt, caller=SUPERVISOR, case_id=case_id, reason="moved away"
    )
    assert closed.chronology == stored[:CHRONOLOGY_PAGE]
    assert more is not None
    _, rest, end = await service.read_chronology(
        port, caller=SUPERVISOR, case_id=case_id, limit=len(stored), after=more
    )
    assert end is None
    assert [*closed.chronology, *rest] == await _stored(port, case_id)
    assert rest[-1].kind == "case_closed"


async def test_a_short_chronology_is_whole_in_the_case(port: Store) -> None:
    case_id = (await take(StoreUnits(port), report())).case.id
    case, _, more = await service.read_case(port, caller=SUPERVISOR, case_id=case_id)
    assert more is None
    assert views.full_view(case, None).chronology_after is None
    assert case.chronology == await _stored(port, case_id)
    _, page, after = await service.read_chronology(
        port, caller=SUPERVISOR, case_id=case_id, limit=CHRONOLOGY_PAGE
    )
    assert (page, after) == (case.chronology, None)


async def test_the_chronology_is_refused_to_schools_and_hidden_out_of_scope(port: Store) -> None:
    case_id = (await take(StoreUnits(port), report())).case.id
    # School staff see the case (its feedback), not its chronology: 403, not 404.
    await service.read_case(port, caller=TEACHER_1, case_id=case_id)
    with pytest.raises(NotAllowed):
        await service.read_chronology(port, caller=TEACHER_1, case_id=case_id, limit=10)
    for caller, unseen in [(TEACHER_2, case_id), (FAR_OFFICER, case_id), (SUPERVISOR, "case-x")]:
        with pytest.raises(NotFound):
            await service.read_chronology(port, caller=caller, case_id=unseen, limit=10)
