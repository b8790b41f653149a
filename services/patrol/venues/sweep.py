"""The expiring-letter sweep: a responsibility letter within `notice` of its expiry (or past
it) tells the venue's officer in charge, once per expiry (the claim is written with the alert)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, timedelta
from zoneinfo import ZoneInfo

from services.patrol.venues import service, store
from shared.events import utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import Cursor
from shared.usecases import Transactor

log = logging.getLogger("hulei.patrol.venues")


async def sweep_letters(runtime: Transactor, *, today: date, notice: timedelta) -> list[str]:
    """The venues whose officer was told now."""
    told: list[str] = []
    page: Cursor | None = None
    while True:
        due, page = await store.letters_expiring_by(runtime.store, day=today + notice, after=page)
        for venue in due:

            async def work(uow: UnitOfWork, venue_id: str = venue.id) -> bool:
                return await service.claim_letter_alert(
                    uow, venue_id=venue_id, today=today, notice=notice
                )

            if await runtime.transact(work):
                told.append(venue.id)
        if page is None:
            return told


async def sweep_periodically(
    runtime: Runtime, *, zone: ZoneInfo, notice: timedelta, interval_s: float
) -> None:
    while True:
        try:
            today = utcnow().astimezone(zone).date()
            if told := await sweep_letters(runtime, today=today, notice=notice):
                log.info("letter sweep told %d officers of expiring letters", len(told))
        except Exception as exc:
            log.warning("letter sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
