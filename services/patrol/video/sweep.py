"""The video patrol's sweep: once the configured time of day has passed, the desk is told
which schools were not checked today (once per day; the claim is written with the alert)."""

from __future__ import annotations

import asyncio
import logging
from datetime import date, datetime

from services.patrol.video import domain, service
from services.patrol.video.domain import VideoConfig
from shared.events import utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.usecases import Transactor

log = logging.getLogger("hulei.patrol.video")


async def sweep_missing(runtime: Transactor, *, config: VideoConfig, now: datetime) -> date | None:
    """The day alerted now, if any."""
    day = domain.alert_due_day(now, config)
    if day is None:
        return None

    async def work(uow: UnitOfWork) -> bool:
        return await service.claim_missing(uow, day=day, config=config, now=now)

    return day if await runtime.transact(work) else None


async def sweep_periodically(runtime: Runtime, *, config: VideoConfig, interval_s: float) -> None:
    while True:
        try:
            if (day := await sweep_missing(runtime, config=config, now=utcnow())) is not None:
                log.info("video patrol: desk told of unchecked schools on %s", day)
        except Exception as exc:
            log.warning("video patrol sweep failed, will retry: %r", exc)
        await asyncio.sleep(interval_s)  # the sweep's period, not a wait for a condition
