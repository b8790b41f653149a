"""The public route of a case's chronology, page by page: `GET /v1/cases/{id}` carries its first
page and `chronology_after`, the cursor of the rest (a chronology grows with every report)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from gateway.access import CASE_AGENCIES, AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.pages import Limit, paged, relay_page
from shared.contracts.cases import CHRONOLOGY_PAGE, ChronologyEntryView
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute)


@router.get(
    "/cases/{case_id}/chronology",
    response_model=list[ChronologyEntryView],
    tags=["cases"],
    summary="A page of the case's chronology, oldest first",
    responses=paged(ERRORS),
    openapi_extra=policy(*CASE_AGENCIES, audit="read", object_type="case", id_param="case_id"),
)
async def read_chronology(
    case_id: str,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = CHRONOLOGY_PAGE,
    after: AfterParam = None,
) -> Response:
    """The entries after `after` (the case's `chronology_after`, or a `Link` header's), oldest
    first; the next page is in the `Link` header. For those who get the case's `CaseView`: 404
    for a case the caller may not see."""
    return await relay_page(
        services,
        "case_tracking",
        f"/cases/{seg(case_id)}/chronology",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )
