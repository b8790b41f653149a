"""The video patrol's internal routes (the gateway's /v1/video-patrol... relays to them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.patrol.video import service
from services.patrol.video.domain import VideoConfig
from shared.contracts.video_patrol import (
    VideoCheckCreate,
    VideoCheckView,
    VideoDaySummary,
    VideoDayView,
)
from shared.events import Day
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]


def config_of(request: Request) -> VideoConfig:
    config: VideoConfig = request.app.state.video_config
    return config


@router.post("/video-patrol/checks", status_code=201, response_model=VideoCheckView)
async def record(
    body: VideoCheckCreate, caller: CallerDep, rt: RuntimeDep, request: Request
) -> VideoCheckView:
    check = await service.record_check(rt, caller=caller, body=body, config=config_of(request))
    return service.check_view(check)


@router.get("/video-patrol/days", response_model=list[VideoDaySummary])
async def days(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    start: Annotated[Day | None, Query(alias="from")] = None,
    end: Annotated[Day | None, Query(alias="to")] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.days(
        rt.store,
        caller=caller,
        start=start,
        end=end,
        config=config_of(request),
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, found, cursor)


@router.get("/video-patrol/days/{day}", response_model=VideoDayView)
async def day_log(day: Day, caller: CallerDep, rt: RuntimeDep, request: Request) -> VideoDayView:
    return await service.day_log(rt.store, caller=caller, day=day, config=config_of(request))
