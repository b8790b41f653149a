"""Demo inspections for `make run` (demo mode only): a term's round of all 21 schools, each by
its community officer, two of them with a failed item (so two rectification notices)."""

from __future__ import annotations

from datetime import timedelta

from services.patrol.inspections import service, store
from shared.contracts.inspections import InspectionCreate, ItemResult
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.usecases import Transactor

SCHOOLS = 21
FAILED = {"sch-03": "cctv", "sch-11": "fire_equipment"}  # the term's two failed items
NOTE = "Found wanting on the day"


def officer_of(n: int) -> Principal:
    """The demo beats: officer k covers schools 3k-2 … 3k (gateway/demo.py)."""
    k = (n - 1) // 3 + 1
    beat = tuple(f"sch-{m:02d}" for m in range(3 * k - 2, 3 * k + 1))
    return Principal(user_id=f"officer{k}", role=Role.police_officer, school_ids=beat)


async def seed(rt: Transactor) -> None:
    """Once: a store with inspections already is left as it is."""
    found, _ = await store.inspections(rt.store, schools=None, limit=1, after=None)
    if found:
        return
    items = await store.checklist(rt.store)
    start = utcnow() - timedelta(days=10)
    for n in range(1, SCHOOLS + 1):
        school = f"sch-{n:02d}"
        results = [
            ItemResult(
                item=i.code,
                passed=FAILED.get(school) != i.code,
                note="Two cameras at the back gate dark" if FAILED.get(school) == i.code else None,
            )
            for i in items
        ]
        body = InspectionCreate(school_id=school, results=results)
        when = start + timedelta(hours=4 * n)
        await service.inspect(rt, caller=officer_of(n), body=body, now=when)
