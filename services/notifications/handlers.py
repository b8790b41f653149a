"""notifications' event consumers: one durable per stream (shared/streams.py `NOTIFICATIONS`).
Each event is turned into inbox entries and matched against partner webhooks in the same
transaction, so it is fetched, committed and acknowledged once."""

from __future__ import annotations

from services.notifications import domain, service, task_notices, webhook_matching
from shared.contracts.alerts import PatrolAlertRaised, SchoolAlertRaised
from shared.contracts.cases import (
    CaseIdentityFlagged,
    FollowUpOverdue,
    TaskAcknowledged,
    TaskCreated,
)
from shared.contracts.ops import DeadLettered, PrivilegedGrantMade
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import NOTIFICATIONS


async def on_task_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == TaskCreated.TYPE:
        notices = domain.notices_for_task_created(envelope.parse(TaskCreated))
    elif envelope.type == TaskAcknowledged.TYPE:
        notices = domain.notices_for_task_acknowledged(envelope.parse(TaskAcknowledged))
    elif (kind := task_notices.TYPES.get(envelope.type)) is not None:
        notices = task_notices.notices_for(envelope.parse(kind)) or []
    else:
        return  # a task event this version does not notify about
    await service.deliver(uow, notices=notices, event_id=envelope.id)


async def on_case_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == CaseIdentityFlagged.TYPE:
        notices = domain.notices_for_identity_flagged(envelope.parse(CaseIdentityFlagged))
        await service.deliver(uow, notices=notices, event_id=envelope.id)
    elif envelope.type == FollowUpOverdue.TYPE:
        notices = task_notices.follow_up_overdue(envelope.parse(FollowUpOverdue))
        await service.deliver(uow, notices=notices, event_id=envelope.id)


async def on_ops_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == DeadLettered.TYPE:
        notices = domain.notices_for_dead_letter(envelope.parse(DeadLettered))
    elif envelope.type == PrivilegedGrantMade.TYPE:
        notices = domain.notices_for_privileged_grant(envelope.parse(PrivilegedGrantMade))
    else:
        return  # an ops event nobody is told about
    await service.deliver(uow, notices=notices, event_id=envelope.id)


async def on_alert(envelope: Envelope, uow: UnitOfWork) -> None:
    for contract in (SchoolAlertRaised, PatrolAlertRaised):
        if envelope.type == contract.TYPE:
            alert = envelope.parse(contract)
            # The alert's id, not the envelope's: one due thing alerted twice is one entry.
            notices = domain.notices_for_alert(alert)
            await service.deliver(uow, notices=notices, event_id=alert.alert_id)


async def on_inbox_event(envelope: Envelope, uow: UnitOfWork) -> None:
    """The inbox entries an event makes, if any (by the first part of its type)."""
    context, _, rest = envelope.type.partition(".")
    if context == "task":
        await on_task_event(envelope, uow)
    elif context == "case":
        await on_case_event(envelope, uow)
    elif context == "ops":
        await on_ops_event(envelope, uow)
    elif rest == "alert.raised":
        await on_alert(envelope, uow)


def register(runtime: Runtime) -> None:
    subscriptions = webhook_matching.ActiveSubscriptions()  # this process's, for all four

    async def on_event(envelope: Envelope, uow: UnitOfWork) -> None:
        """Inbox first: a malformed event it cannot parse fails (and is dead-lettered) before
        any webhook delivery is written; the webhook side skips what it cannot show."""
        await on_inbox_event(envelope, uow)
        await webhook_matching.on_event(envelope, uow, subscriptions=subscriptions)

    for spec in NOTIFICATIONS:
        runtime.consume(spec, on_event)
