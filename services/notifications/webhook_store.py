"""Partner webhooks on the store port: subscriptions, deliveries (one per event and
subscription, attempts inside), and the scope index that places events as the stream does."""

from __future__ import annotations

from datetime import datetime

from services.notifications.webhook_rules import Delivery, Subscription
from shared.event_views import CaseFacts
from shared.events import stored_time
from shared.store import Cursor, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

SUBSCRIPTIONS_C = "webhook_subscriptions"
DELIVERIES_C = "webhook_deliveries"
# What the webhook consumers have seen of each case, report and child (shared/event_views.py):
# pseudonyms and ids only, as in the events themselves.
CASES_C = "webhook_cases"
REPORTS_C = "webhook_reports"
CHILDREN_C = "webhook_children"


async def _webhooks_v3(port: Store) -> None:
    await port.ensure_index(SUBSCRIPTIONS_C, ["owner", "created_at"])
    await port.ensure_index(SUBSCRIPTIONS_C, ["active"])
    # Due deliveries, oldest due first; a subscription's log, newest first.
    await port.ensure_index(DELIVERIES_C, ["state", "next_attempt_at"])
    await port.ensure_index(DELIVERIES_C, ["subscription_id", "created_at"])
    await port.ensure_index(DELIVERIES_C, ["subscription_id", "state"])


MIGRATIONS = [Migration(3, "partner webhooks: subscriptions and deliveries", _webhooks_v3)]


async def put_subscription(tx: Writer, *, subscription: Subscription) -> None:
    await tx.put(SUBSCRIPTIONS_C, subscription.model_dump(mode="json"))


async def get_subscription(port: Reader, *, subscription_id: str) -> Subscription | None:
    doc = await port.get(SUBSCRIPTIONS_C, subscription_id)
    return Subscription.model_validate(doc) if doc else None


async def delete_subscription(tx: Writer, *, subscription_id: str) -> None:
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
    doc = await port.get(CASES_C, case_id)
    if doc is None:
        return None
    return CaseFacts(set(doc["schools"]), set(doc["orgs"]), doc.get("risk"))


async def put_case_facts(tx: Writer, *, case_id: str, facts: CaseFacts) -> None:
    doc = {"id": case_id, "schools": sorted(facts.schools), "orgs": sorted(facts.orgs)}
    await tx.put(CASES_C, {**doc, "risk": facts.risk})


async def report_scope(port: Reader, *, report_id: str) -> tuple[str, str] | None:
    doc = await port.get(REPORTS_C, report_id) if report_id else None
    return (doc["school_id"], doc["org_id"]) if doc else None


async def put_report_scope(tx: Writer, *, report_id: str, scope: tuple[str, str]) -> None:
    await tx.put(REPORTS_C, {"id": report_id, "school_id": scope[0], "org_id": scope[1]})


async def child_orgs(port: Reader, *, child_ref: str) -> set[str]:
    doc = await port.get(CHILDREN_C, child_ref) if child_ref else None
    return set(doc["orgs"]) if doc else set()


async def put_child_orgs(tx: Writer, *, child_ref: str, orgs: set[str]) -> None:
    await tx.put(CHILDREN_C, {"id": child_ref, "orgs": sorted(orgs)})
