"""notifications' event consumers: task, case and ops events become inbox entries."""

from __future__ import annotations

from services.notifications import domain
from services.notifications import store as db
from shared.contracts.cases import CaseIdentityFlagged, TaskAcknowledged, TaskCreated
from shared.contracts.ops import DeadLettered, PrivilegedGrantMade
from shared.events import Envelope, utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.streams import NOTIFICATIONS_CASES, NOTIFICATIONS_OPS, NOTIFICATIONS_TASKS


async def on_task_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == TaskCreated.TYPE:
        notices = domain.notices_for_task_created(envelope.parse(TaskCreated))
    elif envelope.type == TaskAcknowledged.TYPE:
        notices = domain.notices_for_task_acknowledged(envelope.parse(TaskAcknowledged))
    else:
        return  # a task event this version does not notify about
    await _deliver(envelope, uow, notices)


async def on_case_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == CaseIdentityFlagged.TYPE:
        notices = domain.notices_for_identity_flagged(envelope.parse(CaseIdentityFlagged))
        await _deliver(envelope, uow, notices)


async def on_ops_event(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == DeadLettered.TYPE:
        await _deliver(envelope, uow, domain.notices_for_dead_letter(envelope.parse(DeadLettered)))
    elif envelope.type == PrivilegedGrantMade.TYPE:
        grant = envelope.parse(PrivilegedGrantMade)
        await _deliver(envelope, uow, domain.notices_for_privileged_grant(grant))


async def _deliver(envelope: Envelope, uow: UnitOfWork, notices: list[domain.Notice]) -> None:
    at = utcnow().isoformat()
    for notice in notices:
        # Deterministic id: the same event can never put a second entry in an inbox.
        notice_id = f"ntf-{envelope.id}-{notice.recipient}"
        await db.put_notice(uow.tx, notice_id=notice_id, notice=notice, at=at)


def register(runtime: Runtime) -> None:
    runtime.consume(NOTIFICATIONS_TASKS, on_task_event)
    runtime.consume(NOTIFICATIONS_CASES, on_case_event)
    runtime.consume(NOTIFICATIONS_OPS, on_ops_event)
