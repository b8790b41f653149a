"""Demo inspections for `make run` (demo mode only): a term's round of all 21 schools, each by
its community officer, two of them with a failed item (so two rectification notices)."""

from __future__ import annotations

import logging
from datetime import timedelta

from services.patrol.inspections import service, store
from shared.contracts.inspections import ChecklistKind, InspectionCreate, ItemResult
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.runtime import Runtime
from shared.usecases import Transactor

log = logging.getLogger("hulei.patrol.demo")
SCHOOLS = 21
FAILED = {"sch-03": "cctv", "sch-11": "fire_equipment"}  # the term's two failed items
NOTE = "Found wanting on the day"


def officer_of(n: int) -> Principal:
    """The demo beats: officer k covers schools 3k-2 … 3k (gateway/demo.py)."""
    k = (n - 1) // 3 + 1
    beat = tuple(f"sch-{m:02d}" for m in range(3 * k - 2, 3 * k + 1))
    return Principal(user_id=f"officer{k}", role=Role.police_officer, school_ids=beat)


async def seed(rt: Transactor) -> None:
    """Once per store (a restart, or a second replica, seeds nothing)."""
    if not await store.claim_demo_seed(rt.store, name="inspections"):
        return
    items = await store.checklist(rt.store, kind=ChecklistKind.school)
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


async def seed_after_start(runtime: Runtime) -> None:
    """After the service is ready, so the term's transactions are not on the start-up path."""
    try:
        await seed(runtime)
    except Exception as exc:  # demo data missing is no reason to stop serving
        log.warning("seeding the demo inspections failed: %r", exc)
