"""patrol's event consumers: urgent police visits join the patrol plan."""

from __future__ import annotations

from services.patrol import domain
from services.patrol import store as db
from shared.contracts.cases import TaskCreated
from shared.events import Envelope, utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.streams import PATROL_TASKS


async def on_task_created(envelope: Envelope, uow: UnitOfWork) -> None:
    task: TaskCreated = envelope.parse(TaskCreated)
    if not domain.needs_welfare_check(task):
        return
    check = {
        "id": f"wc-{task.task_id}",
        "task_id": task.task_id,
        "case_id": task.case_id,
        "school_id": task.school_id,
        "officer_id": task.assignee_user_id,
        "due_at": task.due_at.isoformat(),
        "status": "planned",
        "created_at": utcnow().isoformat(),
    }
    await db.put_welfare_check(uow.tx, check=check)


def register(runtime: Runtime) -> None:
    runtime.consume(PATROL_TASKS, on_task_created)
