"""The public API: every route a partner agency, a teacher or a dispatcher calls."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from fastapi.security import OAuth2PasswordRequestForm
from pydantic import BaseModel

from gateway import store as db
from gateway.auth import (
    PrincipalDep,
    ReporterDep,
    TaskWorkerDep,
    issue_token,
    principal_of,
)
from gateway.clients import Services
from shared.contracts.cases import CaseView, TaskStatus, TaskView
from shared.contracts.notifications import NotificationView
from shared.contracts.patrol import WelfareCheckView
from shared.contracts.school import ReportCreate, ReportView, SchoolView
from shared.identity import Principal

router = APIRouter(prefix="/v1")


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class Error(BaseModel):
    detail: Any


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "missing, invalid or expired token"},
    404: {"model": Error, "description": "not found, or not yours to see"},
    503: {"model": Error, "description": "a service is unavailable; retry after Retry-After"},
}


@router.post("/auth/token", response_model=Token, tags=["auth"], responses={401: ERRORS[401]})
async def login(form: Annotated[OAuth2PasswordRequestForm, Depends()], request: Request) -> Token:
    settings = request.app.state.settings
    user = await db.get_user(request.app.state.store, username=form.username)
    if not request.app.state.passwords.verify(user, form.password):
        raise HTTPException(
            401, "invalid username or password", headers={"WWW-Authenticate": "Bearer"}
        )
    assert user is not None
    token = issue_token(principal_of(user), settings)
    return Token(access_token=token, expires_in=settings.token_ttl_s)


@router.get("/me", response_model=Principal, tags=["auth"], responses={401: ERRORS[401]})
async def me(principal: PrincipalDep) -> Principal:
    return principal


@router.get("/schools", response_model=list[SchoolView], tags=["schools"], responses=ERRORS)
async def list_schools(principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    return await services.relay("school_liaison", "GET", "/schools", principal=principal)


@router.post(
    "/reports",
    status_code=201,
    response_model=ReportView,
    tags=["reports"],
    responses={**ERRORS, 403: {"model": Error}, 409: {"model": Error}, 413: {"model": Error}},
    summary="File a concern about a student; police and social-work tasks follow within seconds",
)
async def file_report(
    body: ReportCreate,
    principal: ReporterDep,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", max_length=200, description="retry-safe key"),
    ] = None,
) -> JSONResponse:
    headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
    return await services.relay(
        "school_liaison",
        "POST",
        "/reports",
        principal=principal,
        json=body.model_dump(mode="json"),
        headers=headers,
    )


@router.get("/reports/{report_id}", response_model=ReportView, tags=["reports"], responses=ERRORS)
async def get_report(
    report_id: str, principal: PrincipalDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison", "GET", f"/reports/{report_id}", principal=principal
    )


@router.get("/cases/{case_id}", response_model=CaseView, tags=["cases"], responses=ERRORS)
async def get_case(case_id: str, principal: PrincipalDep, services: ServicesDep) -> JSONResponse:
    return await services.relay("case_tracking", "GET", f"/cases/{case_id}", principal=principal)


@router.get("/tasks", response_model=list[TaskView], tags=["tasks"], responses=ERRORS)
async def list_tasks(
    principal: PrincipalDep,
    services: ServicesDep,
    case_id: Annotated[str | None, Query(max_length=80)] = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> JSONResponse:
    params = {"case_id": case_id, "status": status, "limit": limit}
    return await services.relay(
        "case_tracking", "GET", "/tasks", principal=principal, params=params
    )


@router.post(
    "/tasks/{task_id}/ack",
    response_model=TaskView,
    tags=["tasks"],
    responses={**ERRORS, 403: {"model": Error}},
)
async def acknowledge_task(
    task_id: str, principal: TaskWorkerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "case_tracking", "POST", f"/tasks/{task_id}/ack", principal=principal
    )


@router.get(
    "/notifications",
    response_model=list[NotificationView],
    tags=["notifications"],
    responses=ERRORS,
)
async def my_notifications(
    principal: PrincipalDep,
    services: ServicesDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> JSONResponse:
    params = {"unread": str(unread).lower(), "limit": limit}
    return await services.relay(
        "notifications", "GET", "/notifications", principal=principal, params=params
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationView,
    tags=["notifications"],
    responses=ERRORS,
)
async def mark_notification_read(
    notification_id: str, principal: PrincipalDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "notifications", "POST", f"/notifications/{notification_id}/read", principal=principal
    )


@router.get(
    "/welfare-checks", response_model=list[WelfareCheckView], tags=["patrol"], responses=ERRORS
)
async def welfare_checks(
    principal: PrincipalDep,
    services: ServicesDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
) -> JSONResponse:
    return await services.relay(
        "patrol", "GET", "/welfare-checks", principal=principal, params={"limit": limit}
    )
