"""Partner webhooks on the store port: subscriptions, deliveries (one per event and
subscription, attempts inside), and the case index that places events as case_tracking does."""

from __future__ import annotations

import uuid
from datetime import datetime

from services.notifications.webhook_rules import Delivery, Subscription
from shared.event_views import CaseFacts
from shared.events import stored_time
from shared.store import Cursor, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

SUBSCRIPTIONS_C = "webhook_subscriptions"
# One document whose version changes with every change that matters to matching (a subscription
# added, deleted, enabled, disabled, its types or principal changed), in the same transaction:
# replicas keep the active subscriptions in-process until it changes (webhook_matching.py).
VERSION_C = "webhook_subscriptions_version"
VERSION_ID = "active"
MATCHED_BY = ("active", "event_types", "principal")
DELIVERIES_C = "webhook_deliveries"
# The schools and organisations of each case, learnt from its events (shared/event_views.py):
# ids only, as in the events themselves.
CASES_C = "webhook_cases"
# Indexes of reports and children kept until session 6: a case's own events now name its
# reports' schools and organisations. Emptied by migration 4 (they held children's pseudonyms).
RETIRED_C = ("webhook_reports", "webhook_children")


async def _webhooks_v3(port: Store) -> None:
    await port.ensure_index(SUBSCRIPTIONS_C, ["owner", "created_at"])
    await port.ensure_index(SUBSCRIPTIONS_C, ["active"])
    # Due deliveries, oldest due first; a subscription's log, newest first.
    await port.ensure_index(DELIVERIES_C, ["state", "next_attempt_at"])
    await port.ensure_index(DELIVERIES_C, ["subscription_id", "created_at"])
    await port.ensure_index(DELIVERIES_C, ["subscription_id", "state"])


async def _matching_v4(port: Store) -> None:
    for collection in RETIRED_C:
        while docs := await port.find(collection, limit=500):
            for doc in docs:
                await port.delete(collection, doc["id"])
    # Written up front, so each event's read finds it (a missing table costs PostgreSQL a lookup).
    if await subscriptions_version(port) is None:
        await port.put(VERSION_C, {"id": VERSION_ID, "version": uuid.uuid4().hex})


MIGRATIONS = [
    Migration(3, "partner webhooks: subscriptions and deliveries", _webhooks_v3),
    Migration(
        4, "partner webhooks: no report or child index; subscriptions' version", _matching_v4
    ),
]


async def subscriptions_version(port: Reader) -> str | None:
    doc = await port.get(VERSION_C, VERSION_ID)
    return str(doc["version"]) if doc else None


async def _changed(tx: Writer) -> None:
    await tx.put(VERSION_C, {"id": VERSION_ID, "version": uuid.uuid4().hex})


async def put_subscription(tx: Writer, *, subscription: Subscription) -> None:
    doc = subscription.model_dump(mode="json")
    before = await tx.get(SUBSCRIPTIONS_C, subscription.id)
    if before is None or any(before.get(field) != doc[field] for field in MATCHED_BY):
        await _changed(tx)  # not for a rotated secret or a failing streak: matching is the same
    await tx.put(SUBSCRIPTIONS_C, doc)


async def get_subscription(port: Reader, *, subscription_id: str) -> Subscription | None:
    doc = await port.get(SUBSCRIPTIONS_C, subscription_id)
    return Subscription.model_validate(doc) if doc else None


async def delete_subscription(tx: Writer, *, subscription_id: str) -> None:
    await _changed(tx)
    await tx.delete(SUBSCRIPTIONS_C, subscription_id)


async def active_subscriptions(port: Reader) -> list[Subscription]:
    docs = await port.find(SUBSCRIPTIONS_C, where={"active": True})
    return [Subscription.model_validate(d) for d in docs]


async def owned(port: Reader, *, owner: str) -> list[Subscription]:
    docs = await port.find(SUBSCRIPTIONS_C, where={"owner": owner})
    return [Subscription.model_validate(d) for d in docs]


async def subscriptions(
    port: Reader, *, owner: str | None, limit: int, after: Cursor | None
) -> tuple[list[Subscription], Cursor | None]:
    """Oldest first; one owner's, or (owner None) everyone's."""
    docs, cursor = await find_page(
        port,
        SUBSCRIPTIONS_C,
        where={"owner": owner} if owner is not None else None,
        order_by="created_at",
        limit=limit,
        after=after,
    )
    return [Subscription.model_validate(d) for d in docs], cursor


async def put_delivery(tx: Writer, *, delivery: Delivery) -> None:
    await tx.put(DELIVERIES_C, delivery.model_dump(mode="json"))


async def get_delivery(port: Reader, *, delivery_id: str) -> Delivery | None:
    doc = await port.get(DELIVERIES_C, delivery_id)
    return Delivery.model_validate(doc) if doc else None


async def deliveries(
    port: Reader, *, subscription_id: str, limit: int, after: Cursor | None
) -> tuple[list[Delivery], Cursor | None]:
    """A subscription's delivery log, newest first."""
    docs, cursor = await find_page(
        port,
        DELIVERIES_C,
        where={"subscription_id": subscription_id},
        order_by="created_at",
        descending=True,
        limit=limit,
        after=after,
    )
    return [Delivery.model_validate(d) for d in docs], cursor


async def pending_of(port: Reader, *, subscription_id: str) -> list[Delivery]:
    docs = await port.find(
        DELIVERIES_C, where={"subscription_id": subscription_id, "state": "pending"}
    )
    return [Delivery.model_validate(d) for d in docs]


async def due(port: Reader, *, now: datetime, limit: int) -> list[Delivery]:
    docs = await port.find(
        DELIVERIES_C,
        where={"state": "pending", "next_attempt_at": Range(lte=stored_time(now))},
        order_by="next_attempt_at",
        limit=limit,
    )
    return [Delivery.model_validate(d) for d in docs]


async def case_facts(port: Reader, *, case_id: str) -> CaseFacts | None:
    doc = await port.get(CASES_C, case_id) if case_id else None
    if doc is None:
        return None
    return CaseFacts(set(doc["schools"]), set(doc["orgs"]))


async def put_case_facts(tx: Writer, *, case_id: str, facts: CaseFacts) -> None:
    # Not the risk: webhooks filter by scope only.
    doc = {"id": case_id, "schools": sorted(facts.schools), "orgs": sorted(facts.orgs)}
    await tx.put(CASES_C, doc)
