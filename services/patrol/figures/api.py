"""The year's figures' internal route (the gateway's GET /v1/stats relays to it)."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from services.patrol.figures import service
from services.patrol.video.domain import VideoConfig
from shared.contracts.figures import YearFigures
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


@router.get("/stats", response_model=YearFigures)
async def stats(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    year: Annotated[int, Query(ge=2000, le=2100)],
    format: Literal["json", "csv"] = "json",
) -> Response:
    config: VideoConfig = request.app.state.video_config
    found = await service.figures(rt.store, caller=caller, year=year, schools=len(config.schools))
    if format == "csv":
        return Response(service.as_csv(found), media_type="text/csv")
    return Response(found.model_dump_json(), media_type="application/json")
