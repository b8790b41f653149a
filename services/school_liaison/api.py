"""school_liaison's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse

from services.school_liaison import domain, registry, service
from services.school_liaison.counselling.api import router as counselling_router
from services.school_liaison.education.api import router as education_router
from services.school_liaison.privacy import Sealer
from shared.app import adopt_routes
from shared.contracts.school import ReportCreate, ReportView, SchoolCreate, SchoolView
from shared.paging import AfterParam, parse_after, set_next_link
from shared.usecases import InvalidField
from shared.web import CallerDep, RuntimeDep

router = APIRouter()
adopt_routes(router, counselling_router, education_router)
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


def _answer(answer: service.ReportAnswer, *, status_code: int = 200) -> JSONResponse:
    """The report shaped for the caller. A JSONResponse, not a model, so absent stays absent."""
    body = domain.shape_report(answer.report, answer.private, answer.disclosure)
    headers = {"Idempotent-Replayed": "true"} if answer.replayed else None
    return JSONResponse(body, status_code=status_code, headers=headers)


@router.get("/schools", response_model=list[SchoolView])
async def list_schools(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    response: Response,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterParam = None,
) -> list[SchoolView]:
    schools, cursor = await service.list_schools(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    set_next_link(response, request, cursor)
    return [SchoolView.model_validate(s.model_dump()) for s in schools]


@router.post("/schools", status_code=201, response_model=list[SchoolView])
async def register_schools(
    body: list[SchoolCreate], caller: CallerDep, rt: RuntimeDep
) -> list[SchoolView]:
    """All of them or none (409 if an id is taken)."""
    schools = await registry.register_schools(rt, caller=caller, schools=body)
    return [SchoolView.model_validate(s.model_dump()) for s in schools]


@router.post("/reports", status_code=201, response_model=ReportView)
async def file_report(
    body: ReportCreate,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise InvalidField("header", "Idempotency-Key", "must be 1 to 200 characters")
    answer = await service.file_report(
        rt, sealer=_sealer(request), caller=caller, body=body, idempotency_key=idempotency_key
    )
    return _answer(answer, status_code=201)


@router.get("/reports/{report_id}", response_model=ReportView)
async def get_report(
    report_id: str, caller: CallerDep, rt: RuntimeDep, request: Request
) -> JSONResponse:
    answer = await service.read_report(
        rt.store, sealer=_sealer(request), caller=caller, report_id=report_id
    )
    return _answer(answer)
