"""case_tracking's use cases for the assistance ledger: put a case under monitoring, record a
follow-up (its outcome sealed), list the monitored children in the caller's scope, and alert a
missed follow-up once when its durable timer fires (shared/timers.py)."""

from __future__ import annotations

from services.case_tracking import access, ledger, store
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Case
from services.case_tracking.ledger import LedgerEntry
from services.case_tracking.notes import NoteSealer
from services.case_tracking.service import visible_case
from shared.contracts.cases import (
    CaseMonitored,
    CaseStatus,
    FollowUpOverdue,
    FollowUpRecord,
    FollowUpRecorded,
    FollowUpTimerDue,
    MonitoringStart,
)
from shared.events import Envelope, new_id, utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.timers import Timer
from shared.usecases import Conflict, NotAllowed, Transactor

SOURCE = "case_tracking"
CASEWORK = frozenset({Role.police_officer, Role.social_worker, *access.DESK})


def _arm(uow: UnitOfWork, entry: LedgerEntry) -> None:
    """The follow-up timer, one per case: a new due date replaces the old one."""
    due = FollowUpTimerDue(case_id=entry.case_id, at=entry.next_due_at)
    envelope = Envelope.wrap(due, source=SOURCE, subject=entry.case_id, correlation_id=entry.id)
    uow.schedule(Timer(envelope=envelope, key=f"ledger.{entry.case_id}", at=entry.next_due_at))


async def _case_for(uow: UnitOfWork, *, caller: Principal, case_id: str) -> Case:
    """The case, if the caller may keep its ledger and it is open."""
    case = await visible_case(uow.tx, caller=caller, case_id=case_id)
    if caller.role not in CASEWORK:
        raise NotAllowed("only casework keeps the ledger")
    if case.status is CaseStatus.closed:
        raise Conflict("the case is closed")
    return case


async def start_monitoring(
    rt: Transactor, *, caller: Principal, case_id: str, body: MonitoringStart, deadlines: Deadlines
) -> LedgerEntry:
    async def work(uow: UnitOfWork) -> LedgerEntry:
        case = await _case_for(uow, caller=caller, case_id=case_id)
        now = utcnow()
        entry = ledger.monitor(
            await store.get_ledger_entry(uow.tx, case_id=case.id),
            case,
            responsible=body.responsible_user_id,
            interval_days=body.interval_days,
            by=caller.user_id,
            scale=deadlines.scale,
            now=now,
        )
        text = (
            f"Monitoring by {caller.user_id}: {body.responsible_user_id} follows up every "
            f"{body.interval_days} days"
        )
        case = ledger.noted(case, kind="monitoring", text=text, now=now)
        await store.put_ledger_entry(uow.tx, entry=entry)
        await store.save_case(uow.tx, case=case, opened=False)
        _arm(uow, entry)
        event = CaseMonitored(
            case_id=case.id,
            responsible_user_id=entry.responsible_user_id,
            interval_days=entry.interval_days,
            next_due_at=entry.next_due_at,
        )
        uow.announce(event, source=SOURCE, subject=case.id, correlation_id=case.id)
        return entry

    return await rt.transact(work)


async def record_follow_up(
    rt: Transactor,
    *,
    caller: Principal,
    case_id: str,
    body: FollowUpRecord,
    notes: NoteSealer,
    deadlines: Deadlines,
) -> LedgerEntry:
    async def work(uow: UnitOfWork) -> LedgerEntry:
        case = await _case_for(uow, caller=caller, case_id=case_id)
        entry = await store.get_ledger_entry(uow.tx, case_id=case.id)
        if entry is None or not entry.active:
            raise Conflict("the case is not under monitoring")
        now = utcnow()
        record_id = f"{case.id}:followup:{new_id()}"
        sealed = await notes.seal(
            uow.tx, case=case, record_id=record_id, text=body.outcome, now=now
        )
        entry = ledger.record(
            entry,
            by=caller.user_id,
            contact_type=body.contact_type,
            sealed=sealed,
            scale=deadlines.scale,
            now=now,
        )
        text = f"Follow-up by {caller.user_id} ({body.contact_type.value}); outcome recorded"
        case = ledger.noted(case, kind="follow_up", text=text, now=now)
        await store.put_ledger_entry(uow.tx, entry=entry)
        await store.save_case(uow.tx, case=case, opened=False)
        _arm(uow, entry)
        event = FollowUpRecorded(
            case_id=case.id,
            by=caller.user_id,
            contact_type=body.contact_type,
            next_due_at=entry.next_due_at,
        )
        uow.announce(event, source=SOURCE, subject=case.id, correlation_id=case.id)
        return entry

    return await rt.transact(work)


def _scope(caller: Principal) -> dict[str, object] | None:
    if caller.role in access.DESK:
        return {}
    if caller.role is Role.police_officer and caller.school_ids:
        return {"school_id": list(caller.school_ids)}
    if caller.role is Role.social_worker and caller.org_id:
        return {"org_id": caller.org_id}
    return None


async def list_ledger(
    port: Reader, *, caller: Principal, limit: int, after: Cursor | None = None
) -> tuple[list[LedgerEntry], Cursor | None]:
    """The monitored children in the caller's scope, soonest due first."""
    scope = _scope(caller)
    if scope is None:
        return [], None
    return await store.ledger_page(port, where={**scope, "active": True}, limit=limit, after=after)


async def follow_up_due(uow: UnitOfWork, *, timer: FollowUpTimerDue, cause: Envelope) -> None:
    """A follow-up timer fired: alert a missed follow-up once."""
    entry = await store.get_ledger_entry(uow.tx, case_id=timer.case_id)
    missed = ledger.overdue(entry, at=timer.at) if entry else None
    case = await store.get_case(uow.tx, case_id=timer.case_id) if missed else None
    if missed is None or case is None:
        return
    now = utcnow()
    case = ledger.noted(case, kind="follow_up_overdue", text="Follow-up overdue", now=now)
    await store.put_ledger_entry(uow.tx, entry=missed)
    await store.save_case(uow.tx, case=case, opened=False)
    event = FollowUpOverdue(
        case_id=case.id, responsible_user_id=missed.responsible_user_id, due_at=missed.next_due_at
    )
    uow.emit(cause.follow(event, source=SOURCE, subject=case.id))
