"""`GET /v1/tasks/{task_id}/assignees`: whom the desk may reassign a task to (docs/tasks.md).

The same rule `POST /v1/tasks/{task_id}/reassign` checks: a police task goes to an active
officer whose beat covers the task's school, a social-work task to an organisation with active
social workers. The current assignee is left out. The answer names staff accounts and
organisations only (pseudonymous ids, as the task views show them), never the child.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel

from gateway import store
from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged
from shared.contracts.cases import Agency, TaskStatus
from shared.identity import Role
from shared.paging import AfterParam, parse_after, set_next_link
from shared.store import Cursor, Doc, Reader
from shared.store.keyset import find_page

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
SCAN = 200  # directory documents read per step while filling a page
FINISHED = {TaskStatus.done, TaskStatus.cancelled}


class EligibleAssignee(BaseModel):
    """Post one of these back to `/reassign` as it is."""

    assignee_user_id: str | None = None
    assignee_org_id: str | None = None


@router.get(
    "/tasks/{task_id}/assignees",
    response_model=list[EligibleAssignee],
    tags=["tasks"],
    responses=paged(
        {**ERRORS, 409: {"model": Error, "description": "the task is finished (done, cancelled)"}}
    ),
    openapi_extra=policy(
        Role.dispatcher, Role.supervisor, audit="read", object_type="task", id_param="task_id"
    ),
)
async def eligible_assignees(
    task_id: str,
    request: Request,
    response: Response,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> list[EligibleAssignee] | Response:
    """Officers (for a police task) or organisations (social work) the task may go to, by id;
    the next page is in the `Link` header."""
    cursor = parse_after(after)
    answer = await services.call(
        "case_tracking", "GET", f"/tasks/{seg(task_id)}", principal=principal
    )
    if answer.status_code != 200:
        media = answer.headers.get("content-type", "application/json")
        return Response(answer.content, status_code=answer.status_code, media_type=media)
    task = answer.json()
    if task["status"] in FINISHED:
        raise HTTPException(409, f"cannot reassign a task that is {task['status']}")
    directory = request.app.state.store
    if task["agency"] == Agency.police:
        school = task.get("school_id")
        docs, nxt = await _scan(
            directory,
            where={"role": Role.police_officer.value, "active": True},
            order_by="id",
            keep=lambda d: (
                school in (d.get("school_ids") or []) and d["id"] != task["assignee_user_id"]
            ),
            limit=limit,
            after=cursor,
        )
        found = [EligibleAssignee(assignee_user_id=d["id"]) for d in docs]
    else:
        docs, nxt = await _scan(
            directory,
            where={"role": Role.social_worker.value, "active": True},
            order_by="org_id",
            keep=lambda d: bool(d.get("org_id")) and d["org_id"] != task["assignee_org_id"],
            key=lambda d: d["org_id"],
            limit=limit,
            after=cursor,
        )
        found = [EligibleAssignee(assignee_org_id=d["org_id"]) for d in docs]
    set_next_link(response, request, nxt)
    return found


async def _scan(
    port: Reader,
    *,
    where: dict[str, Any],
    order_by: str,
    keep: Callable[[Doc], bool],
    limit: int,
    after: Cursor | None,
    key: Callable[[Doc], Any] = lambda d: d["id"],
) -> tuple[list[Doc], Cursor | None]:
    """Up to `limit` accounts `keep` admits, one per `key`, in (order_by, id) order; the cursor
    after the last document read when more may follow. Accounts of one key are adjacent in
    that order, so a key never spans two pages."""
    items: list[Doc] = []
    seen: set[Any] = set()
    last: Doc | None = None
    while True:
        docs, nxt = await find_page(
            port, store.USERS_C, where=where, order_by=order_by, limit=SCAN, after=after
        )
        for doc in docs:
            fresh = keep(doc) and key(doc) not in seen
            if fresh and len(items) == limit:
                return items, Cursor.of(last, order_by) if last is not None else None
            if fresh:
                seen.add(key(doc))
                items.append(doc)
            last = doc
        if nxt is None:
            return items, None
        after = nxt
