"""The public routes of a task's life after it was created (docs/tasks.md): read it with its
outcome, start, complete or decline it (its assignee), cancel or reassign it (the desk).

Each declares its roles and audit action in `policy(...)`; case_tracking decides on the task
itself (404 for a task the caller may not see, 409 naming the state for an illegal move).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse

from gateway import store
from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.contract import Error
from shared.contracts.cases import (
    Reassignment,
    TaskDetailView,
    TaskDone,
    TaskReason,
    TaskReassign,
    TaskView,
)
from shared.errors import client_error
from shared.identity import Role

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
R = Role
ASSIGNEES = (R.police_officer, R.social_worker)
DESK = (R.dispatcher, R.supervisor)
MOVE_ERRORS: dict[int | str, dict[str, Any]] = {
    **ERRORS,
    409: {"model": Error, "description": "not possible in the task's current state (named)"},
    422: {"model": Error, "description": "a bad field (the `loc` names it)"},
}


def _update(*roles: Role, rules: dict[str, str] | None = None) -> dict[str, Any]:
    return policy(*roles, audit="update", object_type="task", id_param="task_id", rules=rules)


ASSIGNEE_RULES = {
    "body.assignee_user_id": "an active officer in the caller's scope, for a police task only",
    "body.assignee_org_id": "a social-work organisation, for a social-work task only",
}


@router.get(
    "/tasks/{task_id}",
    response_model=TaskDetailView,
    tags=["tasks"],
    responses=ERRORS,
    openapi_extra=policy(*ASSIGNEES, *DESK, audit="read", object_type="task", id_param="task_id"),
)
async def read_task(task_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """One task with its outcome note: for casework only (the note is about a child)."""
    return await services.relay(
        "case_tracking", "GET", f"/tasks/{seg(task_id)}", principal=principal
    )


async def _move(
    services: ServicesDep, principal: CallerDep, task_id: str, move: str, body: Any = None
) -> JSONResponse:
    return await services.relay(
        "case_tracking",
        "POST",
        f"/tasks/{seg(task_id)}/{move}",
        principal=principal,
        json=body.model_dump(mode="json") if body is not None else None,
    )


@router.post(
    "/tasks/{task_id}/start",
    response_model=TaskView,
    tags=["tasks"],
    responses=MOVE_ERRORS,
    openapi_extra=_update(*ASSIGNEES),
)
async def start_task(task_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """Acknowledged → in progress (the assignee)."""
    return await _move(services, principal, task_id, "start")


@router.post(
    "/tasks/{task_id}/done",
    response_model=TaskView,
    tags=["tasks"],
    responses=MOVE_ERRORS,
    openapi_extra=_update(*ASSIGNEES),
)
async def complete_task(
    task_id: str, body: TaskDone, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """In progress → done, with an outcome note (sealed at rest; never in an event)."""
    return await _move(services, principal, task_id, "done", body)


@router.post(
    "/tasks/{task_id}/decline",
    response_model=TaskView,
    tags=["tasks"],
    responses=MOVE_ERRORS,
    openapi_extra=_update(*ASSIGNEES),
)
async def decline_task(
    task_id: str, body: TaskReason, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Give the task back to the desk with a reason; the desk reassigns it."""
    return await _move(services, principal, task_id, "decline", body)


@router.post(
    "/tasks/{task_id}/cancel",
    response_model=TaskView,
    tags=["tasks"],
    responses=MOVE_ERRORS,
    openapi_extra=_update(*DESK),
)
async def cancel_task(
    task_id: str, body: TaskReason, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await _move(services, principal, task_id, "cancel", body)


def _unknown(field: str, message: str) -> HTTPException:
    return HTTPException(422, [client_error(["body", field], message, "value_error")])


@router.post(
    "/tasks/{task_id}/reassign",
    response_model=TaskView,
    tags=["tasks"],
    responses=MOVE_ERRORS,
    openapi_extra=_update(*DESK, rules=ASSIGNEE_RULES),
)
async def reassign_task(
    task_id: str,
    body: TaskReassign,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
) -> JSONResponse:
    """To another officer (whose beat covers the task's school) or social-work organisation;
    both the new and the old assignee are told, and the new one's acknowledgement clock
    starts afresh."""
    directory = request.app.state.store
    school_ids: list[str] = []
    if body.assignee_user_id is not None:
        account = await store.get_user(directory, username=body.assignee_user_id)
        if account is None or not account.get("active") or account["role"] != R.police_officer:
            raise _unknown("assignee_user_id", "no active police officer by that name")
        school_ids = list(account.get("school_ids") or [])
    if body.assignee_org_id is not None:
        where = {"org_id": body.assignee_org_id, "role": R.social_worker.value, "active": True}
        if not await directory.find(store.USERS_C, where=where, limit=1):
            raise _unknown("assignee_org_id", "no social-work organisation by that id")
    passed = Reassignment(**body.model_dump(), assignee_school_ids=school_ids)
    return await _move(services, principal, task_id, "reassign", passed)
