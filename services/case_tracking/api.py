"""case_tracking's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query

from services.case_tracking import domain, views
from services.case_tracking import store as db
from shared.contracts.cases import (
    CaseClose,
    CaseClosed,
    CaseFeedbackView,
    CaseStatus,
    CaseView,
    TaskAcknowledged,
    TaskFeedbackView,
    TaskStatus,
    TaskView,
)
from shared.events import utcnow
from shared.identity import Principal
from shared.runtime import Runtime
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
# Tasks of one case the feedback view lists: two per report, far fewer than this.
CASE_TASKS_LIMIT = 500


async def _visible_case(rt: Runtime, caller: Principal, case_id: str) -> domain.Case:
    case = await db.get_case(rt.store, case_id=case_id)
    if case is None or not domain.may_see_case(caller, case):
        raise HTTPException(404, "case not found")
    return case


@router.get("/cases/{case_id}", response_model=CaseView | CaseFeedbackView)
async def get_case(case_id: str, caller: CallerDep, rt: RuntimeDep) -> CaseView | CaseFeedbackView:
    case = await _visible_case(rt, caller, case_id)
    tasks: list[domain.Task] = []
    if views.feedback_only(caller):
        where = {"case_id": case.id, **views.task_scope(caller)}
        tasks = await db.find_tasks(rt.store, where=where, limit=CASE_TASKS_LIMIT)
    return views.case_view(caller, case, tasks)


@router.post("/cases/{case_id}/close", response_model=CaseView)
async def close_case(case_id: str, body: CaseClose, caller: CallerDep, rt: RuntimeDep) -> CaseView:
    await _visible_case(rt, caller, case_id)
    if not domain.may_close(caller):
        raise HTTPException(403, "only a supervisor may close a case")
    async with rt.unit_of_work() as uow:
        # Re-read inside the transaction so two closings cannot both apply.
        case = await db.get_case(uow.tx, case_id=case_id)
        assert case is not None
        if case.status is CaseStatus.closed:
            raise HTTPException(409, "case is already closed")
        case = domain.close_case(case, by=caller.user_id, reason=body.reason, now=utcnow())
        await db.save_case(uow.tx, case=case, opened=False)
        await db.release_child(uow.tx, case=case)
        assert case.closed_at is not None
        closed = CaseClosed(case_id=case.id, child_ref=case.child_ref, closed_at=case.closed_at)
        uow.announce(closed, source="case_tracking", subject=case.id, correlation_id=case.id)
    return CaseView.model_validate(case.model_dump())


@router.get("/tasks", response_model=list[TaskView | TaskFeedbackView])
async def list_tasks(
    caller: CallerDep,
    rt: RuntimeDep,
    case_id: Annotated[str | None, Query(max_length=80)] = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> list[TaskView | TaskFeedbackView]:
    if case_id is not None:
        await _visible_case(rt, caller, case_id)
        where: dict[str, str] = {"case_id": case_id, **views.task_scope(caller)}
    else:
        mine = domain.task_filter(caller)
        if mine is None:
            return []
        where = mine
    if status is not None:
        where = {**where, "status": status.value}
    tasks = await db.find_tasks(rt.store, where=where, limit=limit)
    return [views.task_view(caller, t) for t in tasks]


@router.post("/tasks/{task_id}/ack", response_model=TaskView)
async def acknowledge_task(task_id: str, caller: CallerDep, rt: RuntimeDep) -> TaskView:
    task = await db.get_task(rt.store, task_id=task_id)
    case = await db.get_case(rt.store, case_id=task.case_id) if task else None
    if task is None or case is None or not domain.may_see_case(caller, case):
        raise HTTPException(404, "task not found")
    if not domain.may_acknowledge(caller, task):
        raise HTTPException(403, "only the task's assignee may acknowledge it")
    if task.status is not TaskStatus.open:
        return TaskView.model_validate(task.model_dump())  # acknowledging twice changes nothing
    async with rt.unit_of_work() as uow:
        # Re-read inside the transaction so two acknowledgements cannot both apply.
        current = await db.get_task(uow.tx, task_id=task_id)
        fresh_case = await db.get_case(uow.tx, case_id=task.case_id)
        assert current is not None and fresh_case is not None
        if current.status is not TaskStatus.open:
            return TaskView.model_validate(current.model_dump())
        new_case, task = domain.acknowledge(fresh_case, current, by=caller.user_id, now=utcnow())
        await db.put_task(uow.tx, task=task)
        await db.save_case(uow.tx, case=new_case, opened=False)
        assert task.acknowledged_at is not None
        event = TaskAcknowledged(
            task_id=task.id,
            case_id=task.case_id,
            acknowledged_by=caller.user_id,
            acknowledged_at=task.acknowledged_at,
        )
        uow.announce(event, source="case_tracking", subject=task.id, correlation_id=task.case_id)
    return TaskView.model_validate(task.model_dump())
