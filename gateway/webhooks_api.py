"""Partner webhooks (docs/webhooks.md): a partner client subscribes to the event types its role
may see on the stream and is sent them, signed (Standard Webhooks), retried for a day and
more. The notifications service owns subscriptions and deliveries; these routes relay to it
with the caller's principal. Partner clients manage their own; an admin sees and disables any.

Subscriptions name no child; a delivery's log entry names the case (and the child's pseudonym
when the event did), so "who was sent events about this child" is answerable there. Reading
a delivery log, or redelivering, is audited against those cases.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import ERRORS, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged, relay_page
from shared.contracts.webhooks import (
    DeliveryView,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionView,
)
from shared.event_views import VIEW_ROLES
from shared.paging import AfterParam

router = APIRouter(prefix="/v1/webhooks", route_class=AuditedRoute, tags=["webhooks"])
SERVICE = "notifications"
Responses = dict[int | str, dict[str, Any]]
INVALID: Responses = {
    422: {"model": Error, "description": "a field is refused (the `loc` names it)"}
}
CREATE: Responses = {
    **ERRORS,
    **INVALID,
    403: {"model": Error, "description": "only partner clients of these roles subscribe"},
    409: {"model": Error, "description": "the client has its 20 subscriptions already"},
}
CONFLICT: Responses = {409: {"model": Error, "description": "the subscription is disabled"}}


def _path(subscription_id: str, *rest: str) -> str:
    return "/".join(("/webhooks/subscriptions", seg(subscription_id), *map(seg, rest)))


@router.post(
    "/subscriptions",
    status_code=201,
    response_model=SubscriptionCreated,
    responses=CREATE,
    summary="Subscribe to event types (those the client's role may see on the stream); the "
    "secret is shown once",
    openapi_extra=policy(
        *VIEW_ROLES,
        rules={
            "body.url": "https to a public address, or a host the operators allow-listed",
            "body.event_types": "only types the client's role may see on the stream",
        },
    ),
)
async def subscribe(
    body: SubscriptionCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        SERVICE,
        "POST",
        "/webhooks/subscriptions",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/subscriptions",
    response_model=list[SubscriptionView],
    responses=paged(ERRORS),
    openapi_extra=policy(*VIEW_ROLES),
)
async def subscriptions(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """The caller's subscriptions (an admin: everyone's), oldest first; the next page is in
    the `Link` header."""
    return await relay_page(
        services,
        SERVICE,
        "/webhooks/subscriptions",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


@router.get(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    responses=ERRORS,
    openapi_extra=policy(*VIEW_ROLES),
)
async def subscription(
    subscription_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(SERVICE, "GET", _path(subscription_id), principal=principal)


@router.patch(
    "/subscriptions/{subscription_id}",
    response_model=SubscriptionView,
    responses={**ERRORS, **INVALID},
    summary="Disable or enable a subscription (disabling fails its pending deliveries)",
    openapi_extra=policy(*VIEW_ROLES),
)
async def change(
    subscription_id: str, body: SubscriptionChange, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        SERVICE,
        "PATCH",
        _path(subscription_id),
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/subscriptions/{subscription_id}/secret",
    response_model=SubscriptionCreated,
    responses=ERRORS,
    summary="Rotate the signing secret; the new one is shown once and used at once",
    openapi_extra=policy(*VIEW_ROLES),
)
async def rotate(subscription_id: str, principal: CallerDep, services: ServicesDep) -> JSONResponse:
    return await services.relay(
        SERVICE, "POST", _path(subscription_id, "secret"), principal=principal
    )


@router.delete(
    "/subscriptions/{subscription_id}",
    status_code=204,
    responses=ERRORS,
    summary="Delete a subscription; its delivery log stays",
    openapi_extra=policy(*VIEW_ROLES),
)
async def delete(subscription_id: str, principal: CallerDep, services: ServicesDep) -> Response:
    answer = await services.call(SERVICE, "DELETE", _path(subscription_id), principal=principal)
    if answer.status_code == 204:
        return Response(status_code=204)
    return JSONResponse(answer.json(), status_code=answer.status_code)


@router.get(
    "/subscriptions/{subscription_id}/deliveries",
    response_model=list[DeliveryView],
    responses=paged(ERRORS),
    summary="The delivery log: one entry per event, its attempts (time, status, latency)",
    openapi_extra=policy(*VIEW_ROLES, audit="read", object_type="webhook_delivery"),
)
async def deliveries(
    subscription_id: str,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Newest first; the next page is in the `Link` header."""
    return await relay_page(
        services,
        SERVICE,
        _path(subscription_id, "deliveries"),
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryView,
    responses={**ERRORS, **CONFLICT},
    summary="Send a delivery again (same webhook-id), with a new series of retries",
    openapi_extra=policy(
        *VIEW_ROLES, audit="update", object_type="webhook_delivery", id_param="delivery_id"
    ),
)
async def redeliver(
    subscription_id: str, delivery_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        SERVICE,
        "POST",
        _path(subscription_id, "deliveries", delivery_id, "redeliver"),
        principal=principal,
    )
