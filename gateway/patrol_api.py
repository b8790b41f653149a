"""Police field work (patrol): the daily video patrol of the schools' cameras (docs/patrol.md).

A check may file a concern report about a child (a student seen at risk), so recording one is
audited; the logs themselves name no child.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, Error, ServicesDep
from gateway.pages import Limit, paged, relay_page
from shared.contracts.video_patrol import (
    VideoCheckCreate,
    VideoCheckView,
    VideoDaySummary,
    VideoDayView,
)
from shared.identity import Role as R
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute, tags=["patrol"])
STATION = (R.police_officer, R.dispatcher, R.supervisor)
CHANGES = {**ERRORS, 409: {"model": Error, "description": "already recorded"}}


@router.post(
    "/video-patrol/checks",
    status_code=201,
    response_model=VideoCheckView,
    responses=CHANGES,
    summary="Record a school's cameras watched today, with findings: a hazard becomes a "
    "rectification notice, a student at risk a concern report",
    openapi_extra=policy(R.police_officer, audit="create", object_type="video_check"),
)
async def record_check(
    body: VideoCheckCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol",
        "POST",
        "/video-patrol/checks",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/video-patrol/days",
    response_model=list[VideoDaySummary],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION),
)
async def days(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    start: Annotated[date | None, Query(alias="from", description="first day")] = None,
    end: Annotated[date | None, Query(alias="to", description="last day")] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Newest first: each day's schools checked of those connected, findings, the alert."""
    return await relay_page(
        services,
        "patrol",
        "/video-patrol/days",
        request=request,
        principal=principal,
        params={"from": start, "to": end, "limit": limit},
        after=after,
    )


@router.get(
    "/video-patrol/days/{day}",
    response_model=VideoDayView,
    responses=ERRORS,
    openapi_extra=policy(*STATION),
)
async def day_log(day: date, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """One day's log: every school checked with its findings, and the schools not checked."""
    return await services.relay(
        "patrol", "GET", f"/video-patrol/days/{day.isoformat()}", principal=principal
    )
