"""patrol's event consumers: urgent police visits join the patrol plan."""

from __future__ import annotations

from services.patrol import service
from shared.contracts.cases import TaskCreated
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import PATROL_TASKS


async def on_task_created(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.plan_welfare_check(uow, task=envelope.parse(TaskCreated))


def register(runtime: Runtime) -> None:
    runtime.consume(PATROL_TASKS, on_task_created)
