"""School safety inspections → rectification → re-inspection (patrol), and the figures.

No child in any of it, so nothing here is audited against a child; each route still declares
its roles in `policy(...)` (docs/schools.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, SCHOOL, SCHOOL_STAFF, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged, relay_page
from shared.contracts.inspections import (
    ChecklistItem,
    ChecklistItemView,
    ChecklistKind,
    FixReport,
    InspectionCreate,
    InspectionView,
    NoticeStatus,
    RectificationView,
    Reinspection,
    SchoolFigures,
)
from shared.identity import Role as R
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute, tags=["inspections"])
# Per school (its staff), per officer (their beat), per district (the desk, the supervisor).
VIEWERS = (*SCHOOL_STAFF, R.police_officer, R.dispatcher, R.supervisor)
CHANGES = {**ERRORS, 409: {"model": Error, "description": "not in a state that allows this"}}
INSPECTION_RULES = {
    "body.school_id": SCHOOL,
    "body.results": "each item of the school checklist answered once",
}
SchoolParam = Annotated[
    str | None, Query(min_length=1, max_length=40, description="one of the caller's schools")
]


@router.get(
    "/inspection-checklist",
    response_model=list[ChecklistItemView],
    responses=paged(ERRORS),
    openapi_extra=policy(*VIEWERS, R.admin),
)
async def checklist(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    kind: ChecklistKind = ChecklistKind.school,
    retired: Annotated[bool, Query(description="the retired items too")] = False,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """What an inspection of a school (`kind=school`) or of a venue kind checks, by code,
    with the days a failed item gives to fix it."""
    return await relay_page(
        services,
        "patrol",
        "/inspection-checklist",
        request=request,
        principal=principal,
        params={"kind": kind.value, "retired": retired, "limit": limit},
        after=after,
    )


@router.post(
    "/inspection-checklist",
    status_code=201,
    response_model=ChecklistItemView,
    responses=CHANGES,
    openapi_extra=policy(R.supervisor, R.admin),
)
async def add_checklist_item(
    body: ChecklistItem, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Extend a kind's checklist (`kind`, school by default); later inspections of that kind
    must answer the new item too. 409 for a code the kind has (retired or not)."""
    return await services.relay(
        "patrol",
        "POST",
        "/inspection-checklist",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/inspection-checklist/{kind}/{code}/retire",
    response_model=ChecklistItemView,
    responses=CHANGES,
    summary="Retire a checklist item: new inspections no longer answer it",
    openapi_extra=policy(R.supervisor, R.admin),
)
async def retire_checklist_item(
    kind: ChecklistKind, code: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Past inspections and open notices keep it (a notice carries its label and is fixed
    and re-inspected as before); `GET ?retired=true` still lists it. 404 for an item the
    kind's checklist does not have, 409 if it is retired already."""
    return await services.relay(
        "patrol",
        "POST",
        f"/inspection-checklist/{kind.value}/{seg(code)}/retire",
        principal=principal,
    )


@router.post(
    "/inspections",
    status_code=201,
    response_model=InspectionView,
    responses=ERRORS,
    summary="Record an inspection; each failed item becomes a rectification notice",
    openapi_extra=policy(R.police_officer, rules=INSPECTION_RULES),
)
async def inspect(
    body: InspectionCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol", "POST", "/inspections", principal=principal, json=body.model_dump(mode="json")
    )


@router.get(
    "/inspections",
    response_model=list[InspectionView],
    responses=paged(ERRORS),
    openapi_extra=policy(*VIEWERS),
)
async def inspections(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    school_id: SchoolParam = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Newest first: a school's (its staff), an officer's schools', the district's (desk)."""
    return await relay_page(
        services,
        "patrol",
        "/inspections",
        request=request,
        principal=principal,
        params={"school_id": school_id, "limit": limit},
        after=after,
    )


@router.get(
    "/rectifications",
    response_model=list[RectificationView],
    responses=paged(ERRORS),
    openapi_extra=policy(*VIEWERS),
)
async def rectifications(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    school_id: SchoolParam = None,
    status: NoticeStatus | None = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Rectification notices, soonest deadline first, as for inspections."""
    return await relay_page(
        services,
        "patrol",
        "/rectifications",
        request=request,
        principal=principal,
        params={"school_id": school_id, "status": status, "limit": limit},
        after=after,
    )


@router.post(
    "/rectifications/{notice_id}/fixed",
    response_model=RectificationView,
    responses=CHANGES,
    summary="The school reports the item fixed (its officer is told to re-inspect)",
    openapi_extra=policy(*SCHOOL_STAFF),
)
async def report_fixed(
    notice_id: str, body: FixReport, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol",
        "POST",
        f"/rectifications/{seg(notice_id)}/fixed",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/rectifications/{notice_id}/reinspect",
    response_model=RectificationView,
    responses=CHANGES,
    summary="Re-inspect: passed closes the notice, failed re-opens it with a new deadline",
    openapi_extra=policy(
        R.police_officer,
        rules={"body.new_deadline": "in the future; required when the re-inspection fails"},
    ),
)
async def reinspect(
    notice_id: str, body: Reinspection, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "patrol",
        "POST",
        f"/rectifications/{seg(notice_id)}/reinspect",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/inspection-figures",
    response_model=list[SchoolFigures],
    responses=paged(ERRORS),
    openapi_extra=policy(*VIEWERS),
)
async def figures(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Per school the caller sees, by id: inspections, failed items, notices open, closed and
    overdue now."""
    return await relay_page(
        services,
        "patrol",
        "/inspection-figures",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )
