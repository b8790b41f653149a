"""Inspections' internal routes (the gateway's /v1/inspections... relays to them)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.patrol.inspections import checklist as checklists
from services.patrol.inspections import service, store
from services.patrol.inspections.domain import Inspection, Notice
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
)
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep, get_caller

router = APIRouter()
Limit = Annotated[int, Query(ge=1, le=500)]
SchoolParam = Annotated[str | None, Query(min_length=1, max_length=40)]


def _inspection(i: Inspection) -> InspectionView:
    return InspectionView.model_validate(i.model_dump())


def _notice(n: Notice) -> RectificationView:
    return RectificationView.model_validate(n.model_dump())


@router.get(
    "/inspection-checklist",
    response_model=list[ChecklistItemView],
    dependencies=[Depends(get_caller)],  # the gateway's callers only, like every route
)
async def checklist(
    rt: RuntimeDep,
    request: Request,
    kind: ChecklistKind = ChecklistKind.school,
    retired: bool = False,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    items, cursor = await store.checklist_page(
        rt.store, kind=kind, retired=retired, limit=limit, after=parse_after(after)
    )
    return page_response(request, items, cursor)


@router.post("/inspection-checklist", status_code=201, response_model=ChecklistItemView)
async def add_item(item: ChecklistItem, caller: CallerDep, rt: RuntimeDep) -> ChecklistItemView:
    return await checklists.add_item(rt, caller=caller, item=item)


@router.post("/inspection-checklist/{kind}/{code}/retire", response_model=ChecklistItemView)
async def retire_item(
    kind: ChecklistKind, code: str, caller: CallerDep, rt: RuntimeDep
) -> ChecklistItemView:
    return await checklists.retire_item(rt, caller=caller, kind=kind, code=code)


@router.post("/inspections", status_code=201, response_model=InspectionView)
async def inspect(body: InspectionCreate, caller: CallerDep, rt: RuntimeDep) -> InspectionView:
    inspection, _ = await service.inspect(rt, caller=caller, body=body)
    return _inspection(inspection)


@router.get("/inspections", response_model=list[InspectionView])
async def inspections(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    school_id: SchoolParam = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.inspections(
        rt.store, caller=caller, school_id=school_id, limit=limit, after=parse_after(after)
    )
    return page_response(request, [_inspection(i) for i in found], cursor)


@router.get("/rectifications", response_model=list[RectificationView])
async def rectifications(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    school_id: SchoolParam = None,
    status: NoticeStatus | None = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.notices(
        rt.store,
        caller=caller,
        school_id=school_id,
        status=status,
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [_notice(n) for n in found], cursor)


@router.post("/rectifications/{notice_id}/fixed", response_model=RectificationView)
async def fixed(
    notice_id: str, body: FixReport, caller: CallerDep, rt: RuntimeDep
) -> RectificationView:
    return _notice(await service.report_fixed(rt, caller=caller, notice_id=notice_id, body=body))


@router.post("/rectifications/{notice_id}/reinspect", response_model=RectificationView)
async def reinspect(
    notice_id: str, body: Reinspection, caller: CallerDep, rt: RuntimeDep
) -> RectificationView:
    return _notice(await service.reinspect(rt, caller=caller, notice_id=notice_id, body=body))


@router.get("/inspection-figures")
async def figures(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.figures(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    return page_response(request, found, cursor)
