"""The public routes of the assistance ledger (帮扶台账, docs/tasks.md): put a case under
monitoring, record a follow-up (its outcome sealed), list the monitored children in scope."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import CASE_AGENCIES, AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.pages import Limit, paged, relay_page
from gateway.tasks_api import MOVE_ERRORS
from shared.contracts.cases import FollowUpRecord, LedgerEntryView, MonitoringStart
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute)


@router.post(
    "/cases/{case_id}/monitoring",
    response_model=LedgerEntryView,
    tags=["ledger"],
    responses=MOVE_ERRORS,
    openapi_extra=policy(*CASE_AGENCIES, audit="update", object_type="case", id_param="case_id"),
)
async def start_monitoring(
    case_id: str, body: MonitoringStart, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """Put the child's case under monitoring (or change who follows up, how often): the next
    follow-up is due an interval after the last one; a missed one alerts the responsible
    person and the desk. 409 for a closed case."""
    return await services.relay(
        "case_tracking",
        "POST",
        f"/cases/{seg(case_id)}/monitoring",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/cases/{case_id}/follow-ups",
    response_model=LedgerEntryView,
    tags=["ledger"],
    responses=MOVE_ERRORS,
    openapi_extra=policy(*CASE_AGENCIES, audit="update", object_type="case", id_param="case_id"),
)
async def record_follow_up(
    case_id: str, body: FollowUpRecord, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """A follow-up held now (who: the caller); its outcome is sealed like a task's. 409 when
    the case is not under monitoring."""
    return await services.relay(
        "case_tracking",
        "POST",
        f"/cases/{seg(case_id)}/follow-ups",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/ledger",
    response_model=list[LedgerEntryView],
    tags=["ledger"],
    responses=paged(ERRORS),
    openapi_extra=policy(*CASE_AGENCIES, audit="read", object_type="ledger"),
)
async def list_ledger(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """The monitored children (pseudonyms) in the caller's scope, soonest follow-up first: the
    desk's all, an officer's beat, a social-work organisation's. Next page in `Link`."""
    return await relay_page(
        services,
        "case_tracking",
        "/ledger",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )
