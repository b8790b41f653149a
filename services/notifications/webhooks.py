"""Partner webhooks' use cases (docs/webhooks.md): subscribe, list, change, rotate, delete,
the delivery log and redelivery. Matching events to subscriptions: webhook_matching.py.

Partner clients subscribe and manage their own subscriptions; an admin sees, disables and
deletes anyone's. The calling convention and the refusals are shared/usecases.py's.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import uuid
from datetime import datetime
from urllib.parse import urlsplit

from services.notifications import service, webhook_store
from services.notifications.domain import ADMIN_DESK, Notice
from services.notifications.settings import Settings
from services.notifications.webhook_rules import (
    IP,
    MAX_PER_CLIENT,
    AllowList,
    Delivery,
    Subscription,
    new_secret,
    parse_url,
    refused_addresses,
    refused_types,
)
from shared.contracts.notifications import user_inbox
from shared.contracts.webhooks import SubscriptionCreate
from shared.events import stored_time
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

CLIENT_PREFIX = "client:"  # a partner client's user id (the gateway's client-credentials grant)


def _is_client(caller: Principal) -> bool:
    return caller.user_id.startswith(CLIENT_PREFIX)


async def resolve(host: str, port: int) -> list[IP]:
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError:
        return []
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


async def check_url(url: str, *, settings: Settings) -> None:
    allow = AllowList.parse(settings.webhook_allow_hosts)
    try:
        target = parse_url(url, demo=settings.demo_mode, allow=allow)
    except ValueError as exc:
        raise InvalidField("body", "url", str(exc)) from exc
    addresses = await resolve(target.host, target.port)
    if not addresses:
        raise InvalidField("body", "url", f"{target.host} does not resolve")
    if (why := refused_addresses(target.host, addresses, allow=allow)) is not None:
        raise InvalidField("body", "url", why)


async def subscribe(
    rt: Transactor,
    *,
    caller: Principal,
    form: SubscriptionCreate,
    settings: Settings,
    now: datetime,
) -> Subscription:
    if not _is_client(caller):
        raise NotAllowed("only partner clients subscribe (client-credentials login)")
    if refused := refused_types(caller, form.event_types):
        raise InvalidField(
            "body", "event_types", f"not visible to role {caller.role.value}: {refused}"
        )
    await check_url(form.url, settings=settings)
    subscription = Subscription(
        id=f"whs_{uuid.uuid4().hex}",
        owner=caller.user_id,
        principal=caller,
        url=form.url,
        event_types=sorted(set(form.event_types)),
        description=form.description,
        created_at=now,
        secret=new_secret(),
    )

    async def work(uow: UnitOfWork) -> Subscription:
        if len(await webhook_store.owned(uow.tx, owner=caller.user_id)) >= MAX_PER_CLIENT:
            raise Conflict(f"at most {MAX_PER_CLIENT} subscriptions per client; delete one")
        await webhook_store.put_subscription(uow.tx, subscription=subscription)
        return subscription

    return await rt.transact(work)


def _may_manage(caller: Principal, subscription: Subscription) -> bool:
    return caller.role is Role.admin or subscription.owner == caller.user_id


async def get(port: Reader, *, caller: Principal, subscription_id: str) -> Subscription:
    found = await webhook_store.get_subscription(port, subscription_id=subscription_id)
    if found is None or not _may_manage(caller, found):
        raise NotFound("subscription not found")
    return found


async def listed(
    port: Reader, *, caller: Principal, limit: int, after: Cursor | None
) -> tuple[list[Subscription], Cursor | None]:
    owner = None if caller.role is Role.admin else caller.user_id
    return await webhook_store.subscriptions(port, owner=owner, limit=limit, after=after)


async def _stop_pending(uow: UnitOfWork, *, subscription_id: str, skip: str) -> None:
    """A disabled or deleted subscription's pending deliveries fail (redeliverable later)."""
    for pending in await webhook_store.pending_of(uow.tx, subscription_id=subscription_id):
        if pending.id != skip:
            failed = pending.model_copy(update={"state": "failed", "next_attempt_at": None})
            await webhook_store.put_delivery(uow.tx, delivery=failed)


async def disable(
    uow: UnitOfWork, subscription: Subscription, *, reason: str, skip: str = ""
) -> Subscription:
    """Disabled, its pending deliveries failed, and (if it kept failing) the admins told."""
    disabled = subscription.model_copy(update={"active": False, "disabled_reason": reason})
    await webhook_store.put_subscription(uow.tx, subscription=disabled)
    await _stop_pending(uow, subscription_id=subscription.id, skip=skip)
    return disabled


async def alert_disabled(uow: UnitOfWork, subscription: Subscription, *, now: datetime) -> None:
    host = urlsplit(subscription.url).hostname
    title = (
        f"Webhook subscription {subscription.id} of {subscription.owner} disabled: every "
        f"delivery to {host} failed for 24 hours"
    )
    notices = [
        Notice(recipient=desk, kind="webhook_disabled", title=title)
        for desk in (ADMIN_DESK, user_inbox(subscription.owner))
    ]
    await service.deliver(uow, notices=notices, event_id=f"{subscription.id}-{stored_time(now)}")


async def change(
    rt: Transactor, *, caller: Principal, subscription_id: str, active: bool
) -> Subscription:
    async def work(uow: UnitOfWork) -> Subscription:
        found = await get(uow.tx, caller=caller, subscription_id=subscription_id)
        if found.active == active:
            return found
        if not active:
            return await disable(uow, found, reason=f"disabled by {caller.user_id}")
        enabled = found.model_copy(
            update={"active": True, "disabled_reason": None, "failing_since": None}
        )
        await webhook_store.put_subscription(uow.tx, subscription=enabled)
        return enabled

    return await rt.transact(work)


async def disable_owner(rt: Transactor, *, caller: Principal, owner: str) -> int:
    """A revoked partner client is sent nothing more: each of its subscriptions disabled
    (the gateway asks before it revokes). How many were active."""
    if caller.role is not Role.admin:
        raise NotAllowed("only an admin revokes a client's subscriptions")

    async def work(uow: UnitOfWork) -> int:
        active = [s for s in await webhook_store.owned(uow.tx, owner=owner) if s.active]
        for subscription in active:
            await disable(uow, subscription, reason=f"client revoked by {caller.user_id}")
        return len(active)

    return await rt.transact(work)


async def rotate(rt: Transactor, *, caller: Principal, subscription_id: str) -> Subscription:
    async def work(uow: UnitOfWork) -> Subscription:
        found = await get(uow.tx, caller=caller, subscription_id=subscription_id)
        rotated = found.model_copy(update={"secret": new_secret()})
        await webhook_store.put_subscription(uow.tx, subscription=rotated)
        return rotated

    return await rt.transact(work)


async def delete(rt: Transactor, *, caller: Principal, subscription_id: str) -> None:
    """Gone, its pending deliveries failed; the delivery log stays (who was sent what)."""

    async def work(uow: UnitOfWork) -> None:
        found = await get(uow.tx, caller=caller, subscription_id=subscription_id)
        await _stop_pending(uow, subscription_id=found.id, skip="")
        await webhook_store.delete_subscription(uow.tx, subscription_id=found.id)

    await rt.transact(work)


async def deliveries(
    port: Reader, *, caller: Principal, subscription_id: str, limit: int, after: Cursor | None
) -> tuple[list[Delivery], Cursor | None]:
    await get(port, caller=caller, subscription_id=subscription_id)
    return await webhook_store.deliveries(
        port, subscription_id=subscription_id, limit=limit, after=after
    )


async def redeliver(
    rt: Transactor, *, caller: Principal, subscription_id: str, delivery_id: str, now: datetime
) -> Delivery:
    """Sent again soon with the same webhook-id, a new series of retries; its row stays one."""

    async def work(uow: UnitOfWork) -> Delivery:
        subscription = await get(uow.tx, caller=caller, subscription_id=subscription_id)
        found = await webhook_store.get_delivery(uow.tx, delivery_id=delivery_id)
        if found is None or found.subscription_id != subscription.id:
            raise NotFound("delivery not found")
        if not subscription.active:
            raise Conflict("the subscription is disabled: enable it first")
        again = found.model_copy(update={"state": "pending", "next_attempt_at": now, "tries": 0})
        await webhook_store.put_delivery(uow.tx, delivery=again)
        return again

    return await rt.transact(work)
