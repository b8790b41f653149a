"""Legal-education internal routes (the gateway's /v1/education-... relays to them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.school_liaison.education import service
from services.school_liaison.education.domain import EducationEvent
from shared.contracts.education import TERM, EducationEventCreate, EducationEventView
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]
Term = Annotated[str, Query(pattern=TERM)]


def _view(event: EducationEvent) -> EducationEventView:
    return EducationEventView.model_validate(event.model_dump())


@router.post("/education-events", status_code=201, response_model=EducationEventView)
async def record(
    body: EducationEventCreate, caller: CallerDep, rt: RuntimeDep
) -> EducationEventView:
    return _view(await service.record(rt, caller=caller, body=body))


@router.get("/education-events", response_model=list[EducationEventView])
async def events(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    school_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    term: Annotated[str | None, Query(pattern=TERM)] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.events(
        rt.store,
        caller=caller,
        school_id=school_id,
        term=term,
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [_view(e) for e in found], cursor)


@router.post("/education-events/{event_id}/confirm", response_model=EducationEventView)
async def confirm(event_id: str, caller: CallerDep, rt: RuntimeDep) -> EducationEventView:
    return _view(await service.confirm(rt, caller=caller, event_id=event_id))


@router.get("/education-plan")
async def plan(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    term: Term,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    rows, cursor = await service.term_plan(
        rt.store, caller=caller, term=term, limit=limit, after=parse_after(after)
    )
    return page_response(request, rows, cursor)
