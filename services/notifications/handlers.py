"""notifications' event consumers: task, case and ops events become inbox entries."""

from __future__ import annotations

from services.notifications import domain, service, task_notices, webhooks
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
from shared.streams import (
    NOTIFICATIONS_CASES,
    NOTIFICATIONS_FOLLOWUPS,
    NOTIFICATIONS_OPS,
    NOTIFICATIONS_PATROL_ALERTS,
    NOTIFICATIONS_SCHOOL_ALERTS,
    NOTIFICATIONS_TASKS,
    NOTIFICATIONS_WEBHOOKS,
)


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


def register(runtime: Runtime) -> None:
    runtime.consume(NOTIFICATIONS_TASKS, on_task_event)
    runtime.consume(NOTIFICATIONS_CASES, on_case_event)
    runtime.consume(NOTIFICATIONS_FOLLOWUPS, on_case_event)
    runtime.consume(NOTIFICATIONS_OPS, on_ops_event)
    runtime.consume(NOTIFICATIONS_SCHOOL_ALERTS, on_alert)
    runtime.consume(NOTIFICATIONS_PATROL_ALERTS, on_alert)
    for spec in NOTIFICATIONS_WEBHOOKS:
        runtime.consume(spec, webhooks.on_event)
