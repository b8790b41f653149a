"""The public API: every route a partner agency, a teacher or a dispatcher calls.

Each route declares who may call it (and what the audit trail records) in `policy(...)`.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Header, HTTPException, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from gateway import store
from gateway.access import ALL_ROLES, CASE_AGENCIES, AuditedRoute, CallerDep, policy
from gateway.audit import AuditLog, Event
from gateway.auth import UNAUTHORIZED, issue_token, principal_of, version_of
from gateway.clients import Services
from gateway.contract import Error
from gateway.limits import LoginThrottle
from gateway.pages import Limit, paged, relay_page
from shared.contracts.cases import (
    CaseClose,
    CaseFeedbackView,
    CaseView,
    TaskFeedbackView,
    TaskStatus,
    TaskView,
)
from shared.contracts.notifications import NotificationView
from shared.contracts.patrol import WelfareCheckView
from shared.contracts.school import ReportCreate, ReportView, SchoolView
from shared.identity import Principal, Role
from shared.paging import AfterParam
from shared.telemetry import current_trace_id

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
R = Role
SCHOOL_STAFF = (R.teacher, R.school_safety_lead)
# Who works with a child's case: the school, the police, social work and the duty desk.
CASEWORK = (*SCHOOL_STAFF, *CASE_AGENCIES)
# What the handlers refuse although the schema admits it (policy's `rules`, see contract.py).
SCHOOL = "an existing school the caller works with"
GRANT_RULES = {
    "body.username": "required with grant_type password",
    "body.password": "required with grant_type password",
    "body.client_id": "required with grant_type client_credentials",
    "body.client_secret": "required with grant_type client_credentials",
}


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int


def seg(value: str) -> str:
    """A path parameter as one URL segment: "../tasks" must not become another route."""
    return quote(value, safe="")


async def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": Error, "description": "missing, invalid or expired token"},
    403: {"model": Error, "description": "this role may not call this endpoint"},
    404: {"model": Error, "description": "not found, or not yours to see"},
    429: {"model": Error, "description": "too many requests; retry after Retry-After"},
    503: {"model": Error, "description": "a service is unavailable; retry after Retry-After"},
}


@router.post(
    "/auth/token",
    response_model=Token,
    tags=["auth"],
    responses={
        401: ERRORS[401],
        429: ERRORS[429],
        503: {"model": Error, "description": "too many logins at once; retry after Retry-After"},
    },
    openapi_extra=policy(rules=GRANT_RULES),  # public: it is how one gets a token
)
async def login(
    request: Request,
    grant_type: Annotated[str, Form(pattern="^(password|client_credentials)$")] = "password",
    username: Annotated[str | None, Form(max_length=100)] = None,
    password: Annotated[str | None, Form(max_length=200)] = None,
    client_id: Annotated[str | None, Form(max_length=100)] = None,
    client_secret: Annotated[str | None, Form(max_length=200)] = None,
) -> Token:
    """OAuth2 password grant for people, client-credentials grant for partner systems."""
    state = request.app.state
    client = grant_type == "client_credentials"
    name, secret = (client_id, client_secret) if client else (username, password)
    if not name or not secret:
        missing = (
            ("client_id" if client else "username")
            if not name
            else ("client_secret" if client else "password")
        )
        raise HTTPException(422, [{"loc": ["body", missing], "msg": "required", "type": "missing"}])
    throttle: LoginThrottle = state.login_throttle
    # Throttled per account *and* address: a guesser elsewhere cannot lock the owner out.
    # Behind a proxy, run uvicorn with --proxy-headers so this is the caller's address.
    source = request.client.host if request.client else "unknown"
    account_key = f"{grant_type}:{name}"
    async with throttle.attempt(account=account_key, source=source) as attempt:
        if client:
            account = await store.get_client(state.store, client_id=name)
            ok = await state.passwords.verify(account, secret, field="secret_hash")
        else:
            account = await store.get_user(state.store, username=name)
            ok = await state.passwords.verify(account, secret)
        attempt.ok = ok
    log: AuditLog = state.audit
    actor = ("client:" if client else "") + name
    outcome = "allowed" if ok else "denied"
    await log.append(
        Event(actor=actor, action="login", object_type="session", outcome=outcome,
              status=200 if ok else 401, trace_id=current_trace_id())
    )  # fmt: skip
    if not ok or account is None:  # no account never verifies; said here for the types
        raise HTTPException(401, "invalid credentials", headers=UNAUTHORIZED)
    principal = principal_of(account, client=client)
    token = issue_token(principal, state.settings, version=version_of(account))
    return Token(access_token=token, expires_in=state.settings.token_ttl_s)


@router.get(
    "/me",
    response_model=Principal,
    tags=["auth"],
    responses=ERRORS,
    openapi_extra=policy(*ALL_ROLES),
)
async def me(principal: CallerDep) -> Principal:
    return principal


@router.get(
    "/schools",
    response_model=list[SchoolView],
    tags=["schools"],
    responses=paged(ERRORS),
    openapi_extra=policy(*ALL_ROLES),
)
async def list_schools(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """The schools the caller works with, by id; the next page is in the `Link` header."""
    return await relay_page(
        services,
        "school_liaison",
        "/schools",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


@router.post(
    "/reports",
    status_code=201,
    response_model=ReportView,
    tags=["reports"],
    responses={**ERRORS, 409: {"model": Error}, 413: {"model": Error}, 415: {"model": Error}},
    summary="File a concern about a student; police and social-work tasks follow within seconds",
    openapi_extra=policy(
        *SCHOOL_STAFF, audit="create", object_type="report", rules={"body.school_id": SCHOOL}
    ),
)
async def file_report(
    body: ReportCreate,
    principal: CallerDep,
    services: ServicesDep,
    idempotency_key: Annotated[
        str | None,
        Header(alias="Idempotency-Key", min_length=1, max_length=200, description="retry-safe key"),
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


@router.get(
    "/reports/{report_id}",
    response_model=ReportView,
    tags=["reports"],
    responses=ERRORS,
    openapi_extra=policy(*CASEWORK, audit="read", object_type="report", id_param="report_id"),
)
async def get_report(report_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    return await services.relay(
        "school_liaison", "GET", f"/reports/{seg(report_id)}", principal=principal
    )


@router.get(
    "/cases/{case_id}",
    response_model=CaseView | CaseFeedbackView,
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=policy(*CASEWORK, audit="read", object_type="case", id_param="case_id"),
)
async def get_case(case_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """The child's case, shaped per role.

    Police, social workers and the desk get `CaseView` (schools, reports, categories,
    chronology). School staff get `CaseFeedbackView`: feedback on their own school's reports
    (status, risk level, the tasks those reports started), nothing about other schools'.
    """
    return await services.relay(
        "case_tracking", "GET", f"/cases/{seg(case_id)}", principal=principal
    )


@router.post(
    "/cases/{case_id}/close",
    response_model=CaseView,
    tags=["cases"],
    responses={**ERRORS, 409: {"model": Error}},
    openapi_extra=policy(R.supervisor, audit="update", object_type="case", id_param="case_id"),
)
async def close_case(
    case_id: str, body: CaseClose, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Close the child's case; after the retention period the child's details are erased."""
    return await services.relay(
        "case_tracking",
        "POST",
        f"/cases/{seg(case_id)}/close",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/tasks",
    response_model=list[TaskView | TaskFeedbackView],
    tags=["tasks"],
    responses=paged(ERRORS),
    openapi_extra=policy(*CASEWORK, audit="read", object_type="task"),
)
async def list_tasks(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    case_id: Annotated[str | None, Query(max_length=80)] = None,
    status: TaskStatus | None = None,
    limit: Limit = 200,
    after: AfterParam = None,
) -> Response:
    """A case's tasks (`case_id`), or the caller's own: an officer's, a social-work
    organisation's, the desk's (all). School staff get only the tasks their school's reports
    started, as `TaskFeedbackView` (no assignee); everyone else `TaskView`. Oldest first; the
    next page is in the `Link` header.
    """
    params = {"case_id": case_id, "status": status, "limit": limit}
    return await relay_page(
        services,
        "case_tracking",
        "/tasks",
        request=request,
        principal=principal,
        params=params,
        after=after,
    )


@router.post(
    "/tasks/{task_id}/ack",
    response_model=TaskView,
    tags=["tasks"],
    responses={**ERRORS, 409: {"model": Error, "description": "not from the task's status"}},
    openapi_extra=policy(
        R.police_officer, R.social_worker, audit="update", object_type="task", id_param="task_id"
    ),
)
async def acknowledge_task(
    task_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "case_tracking", "POST", f"/tasks/{seg(task_id)}/ack", principal=principal
    )


@router.get(
    "/notifications",
    response_model=list[NotificationView],
    tags=["notifications"],
    responses=paged(ERRORS),
    # Notifications name children's cases and tasks: reading them is a read of that case.
    openapi_extra=policy(*ALL_ROLES, audit="read", object_type="notification"),
)
async def my_notifications(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    unread: bool = False,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """The caller's inboxes together (personal, organisation, role desk), newest first; the
    next page is in the `Link` header."""
    params = {"unread": str(unread).lower(), "limit": limit}
    return await relay_page(
        services,
        "notifications",
        "/notifications",
        request=request,
        principal=principal,
        params=params,
        after=after,
    )


@router.post(
    "/notifications/{notification_id}/read",
    response_model=NotificationView,
    tags=["notifications"],
    responses=ERRORS,
    openapi_extra=policy(
        *ALL_ROLES, audit="read", object_type="notification", id_param="notification_id"
    ),
)
async def mark_notification_read(
    notification_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "notifications", "POST", f"/notifications/{seg(notification_id)}/read", principal=principal
    )


@router.get(
    "/welfare-checks",
    response_model=list[WelfareCheckView],
    tags=["patrol"],
    responses=paged(ERRORS),
    openapi_extra=policy(
        R.police_officer, R.dispatcher, R.supervisor, audit="read", object_type="welfare_check"
    ),
)
async def welfare_checks(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 200,
    after: AfterParam = None,
) -> Response:
    """The visits on the patrol plan the caller may list, soonest first; the next page is in
    the `Link` header."""
    return await relay_page(
        services,
        "patrol",
        "/welfare-checks",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )
