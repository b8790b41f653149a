"""case_tracking's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.case_tracking import service, views
from shared.contracts.cases import (
    CaseClose,
    CaseFeedbackView,
    CaseView,
    TaskFeedbackView,
    TaskStatus,
    TaskView,
)
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


@router.get("/cases/{case_id}", response_model=CaseView | CaseFeedbackView)
async def get_case(case_id: str, caller: CallerDep, rt: RuntimeDep) -> CaseView | CaseFeedbackView:
    case, tasks = await service.read_case(rt.store, caller=caller, case_id=case_id)
    return views.case_view(caller, case, tasks)


@router.post("/cases/{case_id}/close", response_model=CaseView)
async def close_case(case_id: str, body: CaseClose, caller: CallerDep, rt: RuntimeDep) -> CaseView:
    case = await service.close_case(rt, caller=caller, case_id=case_id, reason=body.reason)
    return CaseView.model_validate(case.model_dump())


@router.get("/tasks", response_model=list[TaskView | TaskFeedbackView])
async def list_tasks(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    case_id: Annotated[str | None, Query(max_length=80)] = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    after: AfterParam = None,
) -> Response:
    tasks, cursor = await service.list_tasks(
        rt.store,
        caller=caller,
        case_id=case_id,
        status=status,
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [views.task_view(caller, t) for t in tasks], cursor)


@router.post("/tasks/{task_id}/ack", response_model=TaskView)
async def acknowledge_task(task_id: str, caller: CallerDep, rt: RuntimeDep) -> TaskView:
    task = await service.acknowledge_task(rt, caller=caller, task_id=task_id)
    return TaskView.model_validate(task.model_dump())
