"""Partner webhooks' side of notifications' consumers (docs/webhooks.md): each event becomes one
delivery per matching subscription, placed as case_tracking scopes cases.

Cheap when it cannot matter: the case index is touched only by events that name a school or an
organisation, and written only when that is new; the active subscriptions are kept in-process
between their changes (`ActiveSubscriptions`); the case index is read only for a scoped client.
A batch of events (one unit of work) reads the subscriptions' version once and each case's
entry once, and writes each changed entry once, before it commits (`_Batch`): a report's
events come as one batch, and on PostgreSQL every read is a round trip.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from pydantic import ValidationError

from services.notifications import webhook_store
from services.notifications.webhook_rules import Delivery, Subscription, body_of, delivery_id
from shared import event_views as views
from shared.events import Envelope
from shared.runtime import UnitOfWork
from shared.store import Reader, Writer


class ActiveSubscriptions:
    """The active subscriptions, read again only when they changed. Every change that matters to
    matching writes a new version in its own transaction (webhook_store.put_subscription,
    delete_subscription), and each use reads the version in the caller's transaction: a change
    made by another replica is seen as soon as it is committed, as a query would see it."""

    def __init__(self) -> None:
        self._cached: tuple[str | None, list[Subscription]] | None = None

    async def read(self, port: Reader) -> list[Subscription]:
        version = await webhook_store.subscriptions_version(port)  # first: the list is as new
        if self._cached is None or self._cached[0] != version:
            self._cached = (version, await webhook_store.active_subscriptions(port))
        return self._cached[1]


@dataclass
class _Batch:
    """What one unit of work's events share: the active subscriptions, read once (within its
    transaction they cannot change under it), and the case index's entries, each read once and
    each changed one written once, at the flush before the commit."""

    active: ActiveSubscriptions
    subscriptions: list[Subscription] | None = None
    facts: dict[str, views.CaseFacts | None] = field(default_factory=dict)
    changed: dict[str, views.CaseFacts] = field(default_factory=dict)

    async def wanted(self, port: Reader, event_type: str) -> list[Subscription]:
        if self.subscriptions is None:
            self.subscriptions = await self.active.read(port)
        return [s for s in self.subscriptions if event_type in s.event_types]

    async def case_facts(self, port: Reader, case_id: str) -> views.CaseFacts | None:
        if case_id not in self.facts:
            self.facts[case_id] = await webhook_store.case_facts(port, case_id=case_id)
        return self.facts[case_id]

    def learnt(self, case_id: str, facts: views.CaseFacts) -> None:
        self.facts[case_id] = self.changed[case_id] = facts

    async def flush(self, tx: Writer) -> None:
        for case_id in sorted(self.changed):
            await webhook_store.put_case_facts(tx, case_id=case_id, facts=self.changed[case_id])
        self.changed.clear()


async def learn(batch: _Batch, port: Reader, envelope: Envelope) -> None:
    """Keep the case index: the schools and organisations a case's own events name (its
    opening and updates name each report's, a task its assignee's organisation), as
    case_tracking scopes the case. Read only when the event names one, written only when it
    teaches something new: most events teach nothing."""
    case_id = views.teaches(envelope.type, envelope.data)
    if case_id is None:
        return
    taught = views.CaseFacts()
    views.learn(taught, envelope.data)
    if not taught.schools and not taught.orgs:
        return
    known = await batch.case_facts(port, case_id)
    if known is not None and taught.schools <= known.schools and taught.orgs <= known.orgs:
        return
    known = known or views.CaseFacts()
    batch.learnt(case_id, views.CaseFacts(known.schools | taught.schools, known.orgs | taught.orgs))


async def _facts(batch: _Batch, port: Reader, envelope: Envelope) -> views.CaseFacts:
    """Where the event belongs: what is known of its case, plus what it says itself."""
    known = await batch.case_facts(port, envelope.data.get("case_id") or "")
    return views.facts_of(envelope.data, known)


async def on_event(
    envelope: Envelope, uow: UnitOfWork, *, subscriptions: ActiveSubscriptions
) -> None:
    """One delivery per matching subscription, keyed by event and subscription: a redelivered
    event writes nothing new. Written in the consumer's transaction, so none is skipped."""
    contract = views.CONTRACTS.get(envelope.type)
    if contract is None:
        return
    try:
        envelope.parse(contract)
    except ValidationError:
        return  # malformed: the pipeline dead-letters it elsewhere; never sent to a partner
    batch = uow.deferred("webhook-matching", lambda: _Batch(subscriptions))
    await learn(batch, uow.tx, envelope)
    wanted = await batch.wanted(uow.tx, envelope.type)
    if not wanted:
        return
    # Station-wide clients see every event they may: the case index is read for scoped ones.
    facts = views.CaseFacts()
    if any(s.principal.role in views.SCOPED for s in wanted):
        facts = await _facts(batch, uow.tx, envelope)
    child_ref, case_id = views.child_of(envelope.data)
    body: str | None = None
    for subscription in wanted:
        if not views.visible(subscription.principal, envelope.type, envelope.data, facts):
            continue
        key = delivery_id(event_id=envelope.id, subscription_id=subscription.id)
        if await webhook_store.get_delivery(uow.tx, delivery_id=key) is not None:
            continue
        body = body or body_of(envelope)
        delivery = Delivery(
            id=key,
            subscription_id=subscription.id,
            event_id=envelope.id,
            event_type=envelope.type,
            created_at=envelope.time,
            next_attempt_at=envelope.time,
            body=body,
            case_id=case_id or envelope.data.get("case_id"),
            child_ref=child_ref,
        )
        await webhook_store.put_delivery(uow.tx, delivery=delivery)
