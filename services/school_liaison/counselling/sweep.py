"""The overdue-session sweep: a session still unrecorded a grace period after its time alerts
its counsellor, once. The claim (`alerted_at`) is written in the same transaction as the alert
event, so two sweepers, or a sweep after a crash, alert once."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from services.school_liaison.counselling import domain, sessions, store
from shared.events import utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import Cursor

log = logging.getLogger("hulei.school_liaison.counselling")


async def sweep_overdue(runtime: Runtime, *, now: datetime, grace: timedelta) -> list[str]:
    """Alert every overdue session's counsellor; return the sessions alerted now."""
    alerted: list[str] = []
    page: Cursor | None = None
    while True:
        due, page = await store.scheduled_before(runtime.store, cutoff=now - grace, after=page)
        for candidate in due:

            async def work(uow: UnitOfWork, session_id: str = candidate.id) -> bool:
                return await claim_overdue(uow, session_id=session_id, now=now, grace=grace)

            if await runtime.transact(work):
                alerted.append(candidate.id)
        if page is None:
            return alerted


async def claim_overdue(
    uow: UnitOfWork, *, session_id: str, now: datetime, grace: timedelta
) -> bool:
    session = await store.get_session(uow.tx, session_id=session_id)
    if session is None or not domain.overdue(session, now=now, grace=grace):
        return False  # recorded since the scan, or another sweeper claimed it
    await store.put_session(uow.tx, session=session.model_copy(update={"alerted_at": now}))
    title = f"Counselling session {session.id} at {session.place} is overdue: record or reschedule"
    sessions.alert(uow, session=session, kind="counselling_session_overdue", title=title)
    return True


async def sweep_periodically(runtime: Runtime, *, interval_s: float, grace: timedelta) -> None:
    """At start (catching up after downtime), then every `interval_s`; a failure waits for
    the next round, nothing is lost by waiting."""
    while True:
        try:
            alerted = await sweep_overdue(runtime, now=utcnow(), grace=grace)
            if alerted:
                log.info("counselling sweep alerted %d overdue sessions", len(alerted))
        except Exception as exc:
            log.warning("counselling sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
