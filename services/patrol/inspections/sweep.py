"""The overdue-rectification sweep: a notice open past its deadline alerts the school's safety
lead, its officer and the desk, once per deadline (the claim is written with the alert)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime

from services.patrol.inspections import service, store
from shared.events import utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import Cursor

log = logging.getLogger("hulei.patrol.inspections")


async def sweep_overdue(runtime: Runtime, *, now: datetime) -> list[str]:
    """Alert every notice overdue at `now` not alerted yet; return those alerted now."""
    alerted: list[str] = []
    page: Cursor | None = None
    while True:
        due, page = await store.open_past(runtime.store, now=now, after=page)
        for notice in due:
            if notice.overdue_alerted_at is not None:
                continue  # claimed already (checked again in the transaction)

            async def work(uow: UnitOfWork, notice_id: str = notice.id) -> bool:
                return await service.claim_overdue(uow, notice_id=notice_id, now=now)

            if await runtime.transact(work):
                alerted.append(notice.id)
        if page is None:
            return alerted


async def sweep_periodically(runtime: Runtime, *, interval_s: float) -> None:
    """At start (catching up after downtime), then every `interval_s`; a failure waits for
    the next round, nothing is lost by waiting."""
    while True:
        try:
            alerted = await sweep_overdue(runtime, now=utcnow())
            if alerted:
                log.info("rectification sweep alerted %d overdue notices", len(alerted))
        except Exception as exc:
            log.warning("rectification sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
