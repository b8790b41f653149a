"""The school registry's write routes (admin): one school, or a batch of them all or none.

school_liaison keeps the registry. The gateway checks here what only its identity directory
knows: each school's community officer is an active police officer's account (his is where the
school's police tasks go). Each school registered is an entry in the audit trail.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import APIRouter, Body, HTTPException, Request
from fastapi.responses import JSONResponse

from gateway import store
from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep
from gateway.audit import AuditLog, Event
from gateway.contract import Error
from shared.contracts.school import SchoolCreate, SchoolView
from shared.errors import client_error
from shared.identity import Principal, Role
from shared.store import Reader
from shared.telemetry import current_trace_id

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
OFFICER_RULE = "an active police officer's account"
BATCH_MAX = 100  # at most ~520 bytes a school: a full batch fits the default 64 KiB body limit
WRITES = {
    **ERRORS,
    409: {"model": Error, "description": "a school's id is taken (nothing was registered)"},
    413: {"model": Error, "description": "the body is larger than the gateway accepts"},
    415: {"model": Error, "description": "the body is not application/json"},
    422: {"model": Error, "description": "a field is refused (`loc` names it; nothing stored)"},
}


async def _checked(directory: Reader, schools: Sequence[SchoolCreate], *, one: bool) -> None:
    """A 422 naming every field refused: an id twice in the batch, an officer who is not one."""
    where: list[list[str | int]] = [["body"] if one else ["body", i] for i in range(len(schools))]
    problems: list[dict[str, Any]] = []
    first: dict[str, int] = {}
    officers: dict[str, bool] = {}
    for i, school in enumerate(schools):
        if school.id in first:
            problems.append(
                client_error([*where[i], "id"], f"also at index {first[school.id]}", "value_error")
            )
        first.setdefault(school.id, i)
        name = school.community_officer_id
        if name not in officers:
            account = await store.get_user(directory, username=name)
            officers[name] = bool(
                account and account.get("active") and account.get("role") == Role.police_officer
            )
        if not officers[name]:
            problems.append(
                client_error(
                    [*where[i], "community_officer_id"],
                    "no active police officer by that username",
                    "value_error",
                )
            )
    if problems:
        raise HTTPException(422, problems)


async def _register(
    request: Request,
    principal: Principal,
    services: ServicesDep,
    schools: Sequence[SchoolCreate],
    *,
    one: bool,
) -> JSONResponse:
    await _checked(request.app.state.store, schools, one=one)
    answer = await services.call(
        "school_liaison",
        "POST",
        "/schools",
        principal=principal,
        json=[s.model_dump(mode="json") for s in schools],
    )
    if answer.status_code != 201:
        return JSONResponse(answer.json(), status_code=answer.status_code)
    made: list[dict[str, Any]] = answer.json()
    log: AuditLog = request.app.state.audit
    await log.append(
        *(
            Event.by(principal, action="create", object_type="school", object_id=s["id"],
                     status=201, trace_id=current_trace_id())
            for s in made
        )
    )  # fmt: skip
    return JSONResponse(made[0] if one else made, status_code=201)


@router.post(
    "/schools",
    status_code=201,
    response_model=SchoolView,
    tags=["schools"],
    responses=WRITES,
    summary="Register a school: who covers it decides where its reports' tasks go",
    openapi_extra=policy(Role.admin, rules={"body.community_officer_id": OFFICER_RULE}),
)
async def register_school(
    body: SchoolCreate, request: Request, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """409 if its id is taken; 422 naming the field (a community officer who is not an
    active police officer's account)."""
    return await _register(request, principal, services, [body], one=True)


@router.post(
    "/schools:batch",
    status_code=201,
    response_model=list[SchoolView],
    tags=["schools"],
    responses=WRITES,
    summary="Register up to 100 schools in one transaction: all of them or none",
    openapi_extra=policy(
        Role.admin,
        rules={"body.*.community_officer_id": OFFICER_RULE, "body.*.id": "not twice in a batch"},
    ),
)
async def register_schools(
    body: Annotated[list[SchoolCreate], Body(min_length=1, max_length=BATCH_MAX)],
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
) -> JSONResponse:
    """In the order given. Every refused field is named by its index (`["body", 3, "id"]`);
    409 if any id is taken already. Either way nothing is registered."""
    return await _register(request, principal, services, body, one=False)
