"""Venue supervision's internal routes (the gateway's /v1/venues... relays to them)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from services.patrol.venues import service
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
from shared.events import utcnow
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]


@router.post("/venues", status_code=201, response_model=VenueView)
async def register(body: VenueCreate, caller: CallerDep, rt: RuntimeDep) -> VenueView:
    return service.view(await service.register(rt, caller=caller, body=body))


@router.get("/venues", response_model=list[VenueView])
async def venues(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    area: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    kind: VenueKind | None = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.venues(
        rt.store, caller=caller, area=area, kind=kind, limit=limit, after=parse_after(after)
    )
    return page_response(request, [service.view(v) for v in found], cursor)


@router.get("/venues/{venue_id}", response_model=VenueView)
async def venue(venue_id: str, caller: CallerDep, rt: RuntimeDep) -> VenueView:
    return service.view(await service.venue(rt.store, caller=caller, venue_id=venue_id))


@router.put("/venues/{venue_id}/letter", response_model=VenueView)
async def letter(
    venue_id: str, body: Letter, caller: CallerDep, rt: RuntimeDep, request: Request
) -> VenueView:
    zone: ZoneInfo = request.app.state.zone
    signed = await service.sign_letter(
        rt, caller=caller, venue_id=venue_id, body=body, today=utcnow().astimezone(zone).date()
    )
    return service.view(signed)


@router.post("/venues/{venue_id}/status", response_model=VenueView)
async def status(
    venue_id: str, body: VenueStatusChange, caller: CallerDep, rt: RuntimeDep
) -> VenueView:
    changed = await service.change_status(rt, caller=caller, venue_id=venue_id, body=body)
    return service.view(changed)


@router.post("/venues/{venue_id}/inspections", status_code=201, response_model=VenueInspectionView)
async def inspect(
    venue_id: str, body: VenueInspectionCreate, caller: CallerDep, rt: RuntimeDep
) -> VenueInspectionView:
    return await service.inspect(rt, caller=caller, venue_id=venue_id, body=body)


@router.get("/venues/{venue_id}/inspections", response_model=list[VenueInspectionView])
async def inspections(
    venue_id: str,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.inspections_of(
        rt.store, caller=caller, venue_id=venue_id, limit=limit, after=parse_after(after)
    )
    return page_response(request, found, cursor)


@router.get("/venue-areas", response_model=list[AreaVenues])
async def areas(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.areas(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    return page_response(request, found, cursor)
