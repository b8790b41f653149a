"""Retention: a child's details are erased once its cases have been closed, and it has been
off every counselling list, long enough (a child only ever on a list starts retention when it
comes off it).

Erasing destroys the child's data key and drops the sealed blobs from its reports, so the
details are gone from every copy of the reports. The reports themselves stay (school,
category, severity, dates), so the year's figures still count them.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from services.school_liaison import domain, store
from services.school_liaison.counselling import store as counselling_store
from services.school_liaison.service import SOURCE
from shared.contracts.school import ChildErased
from shared.events import Envelope, utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import Cursor

log = logging.getLogger("hulei.school_liaison.retention")


def _retention(runtime: Runtime) -> timedelta:
    days = getattr(runtime.settings, "retention_days", None)
    if not isinstance(days, int):
        raise TypeError("the runtime's settings have no retention_days")
    return timedelta(days=days)


async def sweep_retention(
    runtime: Runtime, *, now: datetime, retention: timedelta | None = None
) -> list[str]:
    """Erase every child whose erasure is due at `now`; return their references."""
    retention = _retention(runtime) if retention is None else retention
    erased: list[str] = []
    page: Cursor | None = None
    while True:
        # Only closures older than the retention period, by index; erase_child decides in
        # its transaction (a later report may have cancelled the erasure since).
        due, page = await store.erasures_closed_before(
            runtime.store, cutoff=now - retention, after=page
        )
        for pending in due:
            child_ref = pending.child_ref

            async def work(uow: UnitOfWork, child_ref: str = child_ref) -> bool:
                return await erase_child(uow, child_ref=child_ref, retention=retention, now=now)

            if await runtime.transact(work):
                erased.append(child_ref)
        if page is None:
            return erased


async def erase_child(
    uow: UnitOfWork, *, child_ref: str, retention: timedelta, now: datetime
) -> bool:
    """Erase the child's details in `uow`'s transaction if the erasure is due; say whether."""
    # Read in the transaction: a report filed since the scan cancels the erasure, and a
    # second sweeper that got here first leaves nothing pending.
    pending = await store.get_pending_erasure(uow.tx, child_ref=child_ref)
    reports = await store.reports_of_child(uow.tx, child_ref=child_ref)
    entries = await counselling_store.entries_of_child(uow.tx, child_ref=child_ref)
    listed = any(e.removed_at is None for e in entries)
    if pending is None or not domain.erasure_due(
        pending, reports, retention=retention, now=now, listed=listed
    ):
        return False
    sealed = [r for r in reports if r.sealed is not None]
    for report in sealed:
        await store.erase_report(uow.tx, report=report, at=now)
    await store.delete_idempotency_for(uow.tx, report_ids=[r.id for r in sealed])
    await counselling_store.erase_child(uow.tx, child_ref=child_ref)
    await store.delete_child_key(uow.tx, child_ref=child_ref)
    await store.delete_pending_erasure(uow.tx, child_ref=child_ref)
    event = ChildErased(child_ref=child_ref, reports_erased=len(sealed), erased_at=now)
    uow.emit(Envelope.wrap(event, source=SOURCE, subject=child_ref, correlation_id=child_ref))
    return True


async def sweep_periodically(runtime: Runtime, *, interval_s: float) -> None:
    """The background sweep: at start (a service that was down catches up), then every
    `interval_s`. A failed sweep is retried at the next interval; nothing is lost by waiting."""
    while True:
        try:
            erased = await sweep_retention(runtime, now=utcnow())
            if erased:
                log.info("retention sweep erased %d children's details", len(erased))
        except Exception as exc:
            log.warning("retention sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
