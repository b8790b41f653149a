"""patrol's routes: the welfare-check visits on the patrol plan."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.patrol import service
from services.patrol.figures.api import router as figures_router
from services.patrol.inspections.api import router as inspections_router
from services.patrol.shifts.api import router as shifts_router
from services.patrol.venues.api import router as venues_router
from services.patrol.video.api import router as video_router
from shared.app import adopt_routes
from shared.contracts.patrol import WelfareCheckView
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
adopt_routes(router, inspections_router, video_router, venues_router, shifts_router, figures_router)


@router.get("/welfare-checks", response_model=list[WelfareCheckView])
async def list_welfare_checks(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    after: AfterParam = None,
) -> Response:
    checks, cursor = await service.welfare_checks(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    views = [WelfareCheckView.model_validate(c, from_attributes=True) for c in checks]
    return page_response(request, views, cursor)
