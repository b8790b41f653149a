"""The unstaffed-post sweep: a gate post nobody checked in at within the grace of its start
tells the desk, once (the claim, status `unstaffed`, is written with the alert)."""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime, timedelta

from services.patrol.shifts import service, store
from shared.events import utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.store import Cursor
from shared.usecases import Transactor

log = logging.getLogger("hulei.patrol.posts")


async def sweep_unstaffed(runtime: Transactor, *, now: datetime, grace: timedelta) -> list[str]:
    """The posts the desk was told of now."""
    told: list[str] = []
    page: Cursor | None = None
    while True:
        waiting, page = await store.waiting_since(runtime.store, before=now - grace, after=page)
        for post in waiting:

            async def work(uow: UnitOfWork, post_id: str = post.id) -> bool:
                return await service.claim_unstaffed(uow, post_id=post_id, now=now, grace=grace)

            if await runtime.transact(work):
                told.append(post.id)
        if page is None:
            return told


async def sweep_periodically(runtime: Runtime, *, grace: timedelta, interval_s: float) -> None:
    while True:
        try:
            if told := await sweep_unstaffed(runtime, now=utcnow(), grace=grace):
                log.info("post sweep told the desk of %d unstaffed posts", len(told))
        except Exception as exc:
            log.warning("post sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
