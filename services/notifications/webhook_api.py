"""notifications' webhook routes (the gateway relays `/v1/webhooks/...` here)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from services.notifications import webhooks
from services.notifications.webhook_rules import Delivery, Subscription, subscription_view
from services.notifications.webhook_sender import Clock
from shared.contracts.webhooks import (
    AttemptView,
    DeliveryView,
    SubscriptionChange,
    SubscriptionCreate,
    SubscriptionCreated,
    SubscriptionView,
)
from shared.paging import AfterParam, page_response, parse_after
from shared.web import CallerDep, RuntimeDep

router = APIRouter(prefix="/webhooks")
Limit = Annotated[int, Query(ge=1, le=500)]


def _view(subscription: Subscription) -> SubscriptionView:
    return SubscriptionView.model_validate(subscription_view(subscription))


def _delivery(delivery: Delivery) -> DeliveryView:
    return DeliveryView(
        **delivery.model_dump(exclude={"attempts", "body", "tries"}),
        attempts=[AttemptView.model_validate(a.model_dump()) for a in delivery.attempts],
    )


def _clock(request: Request) -> Clock:
    clock: Clock = request.app.state.clock
    return clock


@router.post("/subscriptions", status_code=201, response_model=SubscriptionCreated)
async def subscribe(
    form: SubscriptionCreate, caller: CallerDep, rt: RuntimeDep, request: Request
) -> SubscriptionCreated:
    created = await webhooks.subscribe(
        rt,
        caller=caller,
        form=form,
        settings=request.app.state.settings,
        now=_clock(request)(),
    )
    return SubscriptionCreated(**subscription_view(created), secret=created.secret)


@router.get("/subscriptions", response_model=list[SubscriptionView])
async def subscriptions(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await webhooks.listed(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    return page_response(request, [_view(s) for s in found], cursor)


@router.get("/subscriptions/{subscription_id}", response_model=SubscriptionView)
async def subscription(subscription_id: str, caller: CallerDep, rt: RuntimeDep) -> SubscriptionView:
    return _view(await webhooks.get(rt.store, caller=caller, subscription_id=subscription_id))


@router.patch("/subscriptions/{subscription_id}", response_model=SubscriptionView)
async def change(
    subscription_id: str, body: SubscriptionChange, caller: CallerDep, rt: RuntimeDep
) -> SubscriptionView:
    changed = await webhooks.change(
        rt, caller=caller, subscription_id=subscription_id, active=body.active
    )
    return _view(changed)


@router.post("/subscriptions/{subscription_id}/secret", response_model=SubscriptionCreated)
async def rotate(subscription_id: str, caller: CallerDep, rt: RuntimeDep) -> SubscriptionCreated:
    rotated = await webhooks.rotate(rt, caller=caller, subscription_id=subscription_id)
    return SubscriptionCreated(**subscription_view(rotated), secret=rotated.secret)


@router.delete("/subscriptions/{subscription_id}", status_code=204)
async def delete(subscription_id: str, caller: CallerDep, rt: RuntimeDep) -> Response:
    await webhooks.delete(rt, caller=caller, subscription_id=subscription_id)
    return Response(status_code=204)


@router.get("/subscriptions/{subscription_id}/deliveries", response_model=list[DeliveryView])
async def deliveries(
    subscription_id: str,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await webhooks.deliveries(
        rt.store,
        caller=caller,
        subscription_id=subscription_id,
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [_delivery(d) for d in found], cursor)


@router.post(
    "/subscriptions/{subscription_id}/deliveries/{delivery_id}/redeliver",
    status_code=202,
    response_model=DeliveryView,
)
async def redeliver(
    subscription_id: str, delivery_id: str, caller: CallerDep, rt: RuntimeDep, request: Request
) -> DeliveryView:
    again = await webhooks.redeliver(
        rt,
        caller=caller,
        subscription_id=subscription_id,
        delivery_id=delivery_id,
        now=_clock(request)(),
    )
    return _delivery(again)


@router.post("/owners/{owner}/disable")
async def disable_owner(owner: str, caller: CallerDep, rt: RuntimeDep) -> dict[str, int]:
    """Internal: the gateway calls it before it revokes a partner client."""
    return {"disabled": await webhooks.disable_owner(rt, caller=caller, owner=owner)}
