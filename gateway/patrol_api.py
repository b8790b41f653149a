"""Police field work (patrol): the daily video patrol of the schools' cameras and venue
supervision (docs/patrol.md).

A check may file a concern report about a child (a student seen at risk), so recording one is
audited; the logs themselves name no child.
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, SCHOOL_STAFF, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged, relay_page
from shared.contracts.figures import YearFigures
from shared.contracts.venues import (
    AreaVenues,
    Letter,
    VenueCreate,
    VenueInspectionCreate,
    VenueInspectionView,
    VenueKind,
    VenueStatusChange,
    VenueView,
)
from shared.contracts.video_patrol import (
    VideoCheckCreate,
    VideoCheckView,
    VideoDaySummary,
    VideoDayView,
)
from shared.events import Day
from shared.identity import Role as R
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute, tags=["patrol"])
STATION = (R.police_officer, R.dispatcher, R.supervisor)
CHANGES = {**ERRORS, 409: {"model": Error, "description": "already recorded"}}
CHECK_RULES = {
    "body.school_id": "a school of the caller's beat with connected cameras",
    "body.day": "not a day still to come",
    "body.findings": "a category for a student_at_risk only, deadline_days for a hazard only",
}
LETTER_RULES = {"body.signed_on": "not in the future", "body.expires_on": "after signed_on"}


@router.post(
    "/video-patrol/checks",
    status_code=201,
    response_model=VideoCheckView,
    responses=CHANGES,
    summary="Record a school's cameras watched today, with findings: a hazard becomes a "
    "rectification notice, a student at risk a concern report",
    openapi_extra=policy(
        R.police_officer, audit="create", object_type="video_check", rules=CHECK_RULES
    ),
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
    openapi_extra=policy(*STATION, rules={"query.from": "not after `to`"}),
)
async def days(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    start: Annotated[Day | None, Query(alias="from", description="first day")] = None,
    end: Annotated[Day | None, Query(alias="to", description="last day")] = None,
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
async def day_log(day: Day, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    """One day's log: every school checked with its findings, and the schools not checked."""
    return await services.relay(
        "patrol", "GET", f"/video-patrol/days/{day.isoformat()}", principal=principal
    )


# --- venue supervision -------------------------------------------------------------------------
# Venues are the station's (no child in them): officers, the desk and the supervisor read them;
# a venue's officer in charge signs its letter (or the supervisor) and inspects it.


@router.post(
    "/venues",
    status_code=201,
    response_model=VenueView,
    responses=ERRORS,
    openapi_extra=policy(R.police_officer, R.supervisor),
)
async def register_venue(
    body: VenueCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Register a venue; its officer in charge is `officer_id` or the caller."""
    return await services.relay(
        "patrol", "POST", "/venues", principal=principal, json=body.model_dump(mode="json")
    )


@router.get(
    "/venues",
    response_model=list[VenueView],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION),
)
async def venues(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    area: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    kind: VenueKind | None = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """The registry by id, narrowed to a grid area or a kind."""
    return await relay_page(
        services,
        "patrol",
        "/venues",
        request=request,
        principal=principal,
        params={"area": area, "kind": kind, "limit": limit},
        after=after,
    )


@router.get(
    "/venues/{venue_id}",
    response_model=VenueView,
    responses=ERRORS,
    openapi_extra=policy(*STATION),
)
async def venue(venue_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    return await services.relay("patrol", "GET", f"/venues/{seg(venue_id)}", principal=principal)


@router.put(
    "/venues/{venue_id}/letter",
    response_model=VenueView,
    responses=ERRORS,
    summary="Record the venue's signed responsibility letter (replaces the previous one)",
    openapi_extra=policy(R.police_officer, R.supervisor, rules=LETTER_RULES),
)
async def sign_letter(
    venue_id: str, body: Letter, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol",
        "PUT",
        f"/venues/{seg(venue_id)}/letter",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/venues/{venue_id}/status",
    response_model=VenueView,
    responses={**ERRORS, 409: {"model": Error, "description": "not from its current status"}},
    summary="Suspend, reopen or close a venue (closed is final), with the reason",
    openapi_extra=policy(R.police_officer, R.supervisor),
)
async def change_venue_status(
    venue_id: str, body: VenueStatusChange, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Its officer in charge or the supervisor (another officer: 403). active ⇄ suspended,
    either → closed; anything else, or the same status again, is a 409 naming the current
    one. The area's count of active venues follows; `patrol.venue.status_changed` tells the
    projections."""
    return await services.relay(
        "patrol",
        "POST",
        f"/venues/{seg(venue_id)}/status",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/venues/{venue_id}/inspections",
    status_code=201,
    response_model=VenueInspectionView,
    responses=ERRORS,
    summary="Inspect a venue against its kind's checklist; each failed item becomes a "
    "rectification notice",
    openapi_extra=policy(
        R.police_officer,
        rules={"body.results": "each item of the venue kind's checklist answered once"},
    ),
)
async def inspect_venue(
    venue_id: str, body: VenueInspectionCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol",
        "POST",
        f"/venues/{seg(venue_id)}/inspections",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/venues/{venue_id}/inspections",
    response_model=list[VenueInspectionView],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION),
)
async def venue_inspections(
    venue_id: str,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Newest first."""
    return await relay_page(
        services,
        "patrol",
        f"/venues/{seg(venue_id)}/inspections",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


@router.get(
    "/venue-areas",
    response_model=list[AreaVenues],
    responses=paged(ERRORS),
    openapi_extra=policy(*STATION),
)
async def venue_areas(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Active venues per grid area: what the patrol plan is weighted by."""
    return await relay_page(
        services,
        "patrol",
        "/venue-areas",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


# --- the year's figures ------------------------------------------------------------------------


@router.get(
    "/stats",
    response_model=YearFigures,
    responses={
        **ERRORS,
        200: {"content": {"text/csv": {}}, "description": "the figures (CSV with format=csv)"},
    },
    openapi_extra=policy(R.dispatcher, R.supervisor, R.auditor, *SCHOOL_STAFF),
)
async def stats(
    principal: CallerDep,
    services: ServicesDep,
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Annotated[Literal["json", "csv"], Query(description="csv: figure,value rows")] = "json",
) -> Response:
    """The year's figures, counted from the events (a projection, rebuildable from the
    streams): the station's for the desk, the supervisor and the auditor; a school's own for
    its staff."""
    answer = await services.call(
        "patrol", "GET", "/stats", principal=principal, params={"year": year, "format": format}
    )
    return Response(
        answer.content,
        status_code=answer.status_code,
        media_type=answer.headers.get("content-type", "application/json"),
    )
