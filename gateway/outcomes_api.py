"""The public routes of a case's outcomes (docs/tasks.md): dispositions (recorded by casework,
counted by kind for the desk) and the supervisor's risk review."""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from gateway.access import CASE_AGENCIES, AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.tasks_api import MOVE_ERRORS
from shared.contracts.cases import (
    CaseView,
    DispositionCounts,
    DispositionRecord,
    DispositionView,
    RiskReview,
)
from shared.identity import Role

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
R = Role


@router.post(
    "/cases/{case_id}/dispositions",
    status_code=201,
    response_model=DispositionView,
    tags=["cases"],
    responses=MOVE_ERRORS,
    openapi_extra=policy(*CASE_AGENCIES, audit="create", object_type="case", id_param="case_id"),
)
async def record_disposition(
    case_id: str, body: DispositionRecord, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """An outcome of the case (education with the school, detention decided but not executed
    because of age, counselling referral, family supervision duty, other): who and when, in the
    chronology; its note sealed at rest."""
    return await services.relay(
        "case_tracking",
        "POST",
        f"/cases/{seg(case_id)}/dispositions",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/dispositions/counts",
    response_model=DispositionCounts,
    tags=["cases"],
    responses=ERRORS,
    openapi_extra=policy(R.dispatcher, R.supervisor),  # figures only: no child named
)
async def count_dispositions(principal: CallerDep, services: ServicesDep) -> JSONResponse:
    return await services.relay("case_tracking", "GET", "/dispositions/counts", principal=principal)


@router.post(
    "/cases/{case_id}/risk",
    response_model=CaseView,
    tags=["cases"],
    responses=MOVE_ERRORS,
    openapi_extra=policy(R.supervisor, audit="update", object_type="case", id_param="case_id"),
)
async def review_risk(
    case_id: str, body: RiskReview, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Set the case's risk level up or down with a reason; the chronology shows who and why.
    409 when it is that level already, or the case is closed."""
    return await services.relay(
        "case_tracking",
        "POST",
        f"/cases/{seg(case_id)}/risk",
        principal=principal,
        json=body.model_dump(mode="json"),
    )
