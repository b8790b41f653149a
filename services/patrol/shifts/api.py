"""Shifts', posts' and the plan's internal routes (the gateway relays to them)."""

from __future__ import annotations

from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Query, Request, Response

from services.patrol.shifts import service
from services.patrol.shifts.domain import Post, Shift
from shared.contracts.shifts import PlanView, PostCreate, PostView, ShiftCreate, ShiftView
from shared.events import Day
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]


def _zone(request: Request) -> ZoneInfo:
    zone: ZoneInfo = request.app.state.zone
    return zone


def shift_view(s: Shift) -> ShiftView:
    return ShiftView.model_validate(s.model_dump())


def post_view(p: Post) -> PostView:
    return PostView.model_validate(p.model_dump())


@router.post("/shifts", status_code=201, response_model=ShiftView)
async def plan_shift(body: ShiftCreate, caller: CallerDep, rt: RuntimeDep) -> ShiftView:
    return shift_view(await service.plan_shift(rt, caller=caller, body=body))


@router.get("/shifts", response_model=list[ShiftView])
async def shifts(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    day: Day | None = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.shifts(
        rt.store, caller=caller, day=day, zone=_zone(request), limit=limit, after=parse_after(after)
    )
    return page_response(request, [shift_view(s) for s in found], cursor)


@router.post("/posts", status_code=201, response_model=PostView)
async def plan_post(body: PostCreate, caller: CallerDep, rt: RuntimeDep) -> PostView:
    return post_view(await service.plan_post(rt, caller=caller, body=body))


@router.get("/posts", response_model=list[PostView])
async def posts(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    day: Day | None = None,
    school_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.posts(
        rt.store,
        caller=caller,
        day=day,
        school_id=school_id,
        zone=_zone(request),
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [post_view(p) for p in found], cursor)


@router.post("/posts/{post_id}/check-in", response_model=PostView)
async def check_in(post_id: str, caller: CallerDep, rt: RuntimeDep) -> PostView:
    return post_view(await service.check_in(rt, caller=caller, post_id=post_id))


@router.get("/patrol-plan", response_model=PlanView)
async def plan(day: Day, caller: CallerDep, rt: RuntimeDep, request: Request) -> PlanView:
    return await service.plan(rt.store, caller=caller, day=day, zone=_zone(request))
