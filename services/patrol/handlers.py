"""patrol's event consumers: urgent police visits join the patrol plan; the events the year's
figures count feed its projection (only those: the consumers filter on the server)."""

from __future__ import annotations

import logging

from pydantic import ValidationError

from services.patrol import service
from services.patrol.figures import projection
from shared.contracts.cases import TaskCreated
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import FIGURES, PATROL_TASKS

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


def register(runtime: Runtime) -> None:
    runtime.consume(PATROL_TASKS, on_task_created)
    for spec in FIGURES:
        runtime.consume(spec, on_counted_event)
