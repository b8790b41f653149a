"""patrol's event consumers, one durable per stream: the events the year's figures count feed
its projection (only those: the consumers filter on the server) and a created task, in the same
transaction, also adds an urgent police visit to the patrol plan."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.patrol import service
from services.patrol.figures import projection
from shared.contracts.cases import TaskCreated
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import PATROL_CONSUMERS

log = logging.getLogger("hulei.patrol.figures")


async def _count(envelope: Envelope, uow: UnitOfWork) -> None:
    """Into the batch's tally: each counter row is written once per batch (one transaction)."""
    await projection.fold(uow.tx, envelope, uow.deferred("figures", projection.Tally))


async def on_task_created(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.plan_welfare_check(uow, task=envelope.parse(TaskCreated))
    await _count(envelope, uow)


async def on_counted_event(envelope: Envelope, uow: UnitOfWork) -> None:
    try:
        await _count(envelope, uow)
    except ValidationError as exc:
        # A payload its owner's own consumer dead-letters (and the desk hears of): one dead
        # letter per bad event, not one per reader; a rebuild counts it once it is fixed.
        log.warning(
            "figures: %s %s not counted: %d errors", envelope.type, envelope.id, exc.error_count()
        )


async def on_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == TaskCreated.TYPE:
        await on_task_created(envelope, uow)
    else:
        await on_counted_event(envelope, uow)


def register(runtime: Runtime) -> None:
    for spec in PATROL_CONSUMERS:
        runtime.consume(spec, on_event)
