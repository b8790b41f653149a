"""Patrol shifts, school-gate posts (护学岗) and the day's plan weighted by the venues per grid
area (patrol; docs/patrol.md). No child in any of it; the plan counts welfare checks, whose
list (naming cases) stays at the audited `GET /v1/welfare-checks`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, SCHOOL, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged, relay_page
from shared.contracts.shifts import PlanView, PostCreate, PostView, ShiftCreate, ShiftView
from shared.events import Day
from shared.identity import Role as R
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute, tags=["patrol"])
STATION = (R.police_officer, R.dispatcher, R.supervisor)
PLANNERS = (R.dispatcher, R.supervisor)
ON_POSTS = (R.police_officer, R.safety_volunteer, R.grid_worker)
DayParam = Annotated[Day | None, Query(description="the station's local date")]

ENDS = {"body.ends_at": "after starts_at, and at most 24 hours after it"}


@router.post(
    "/shifts",
    status_code=201,
    response_model=ShiftView,
    responses=ERRORS,
    openapi_extra=policy(*PLANNERS, rules=ENDS),
)
async def plan_shift(
    body: ShiftCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """A vehicle, foot or online patrol: officers, times and a grid area."""
    return await services.relay(
        "patrol", "POST", "/shifts", principal=principal, json=body.model_dump(mode="json")
    )


@router.get(
    "/shifts",
    response_model=list[ShiftView],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION),
)
async def shifts(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    day: DayParam = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Soonest first; one local day's with `day`."""
    return await relay_page(
        services,
        "patrol",
        "/shifts",
        request=request,
        principal=principal,
        params={"day": day, "limit": limit},
        after=after,
    )


@router.post(
    "/posts",
    status_code=201,
    response_model=PostView,
    responses=ERRORS,
    openapi_extra=policy(*PLANNERS, rules={**ENDS, "body.school_id": SCHOOL}),
)
async def plan_post(body: PostCreate, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """A school-gate post at arrival or leaving time, staffed by officers and volunteers."""
    return await services.relay(
        "patrol", "POST", "/posts", principal=principal, json=body.model_dump(mode="json")
    )


@router.get(
    "/posts",
    response_model=list[PostView],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION, R.safety_volunteer, R.grid_worker),
)
async def posts(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    day: DayParam = None,
    school_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Soonest first: the station's (officers, desk), their grid's schools' (volunteers)."""
    return await relay_page(
        services,
        "patrol",
        "/posts",
        request=request,
        principal=principal,
        params={"day": day, "school_id": school_id, "limit": limit},
        after=after,
    )


@router.post(
    "/posts/{post_id}/check-in",
    response_model=PostView,
    responses={**ERRORS, 409: {"model": Error, "description": "checked in already, or over"}},
    summary="Check in at a post (only the people on it)",
    openapi_extra=policy(*ON_POSTS),
)
async def check_in(post_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    return await services.relay(
        "patrol", "POST", f"/posts/{seg(post_id)}/check-in", principal=principal
    )


@router.get(
    "/patrol-plan",
    response_model=PlanView,
    responses=ERRORS,
    openapi_extra=policy(*STATION),
)
async def plan(
    principal: CallerDep,
    services: ServicesDep,
    day: Annotated[Day, Query(description="the station's local date")],
) -> JSONResponse:
    """One day: street shifts per grid area against the venue weighting, online shifts, gate
    posts checked in, welfare checks due."""
    return await services.relay(
        "patrol", "GET", "/patrol-plan", principal=principal, params={"day": day.isoformat()}
    )
