"""Pure rules of the assistance ledger (帮扶台账): a monitored case has a responsible person and
a follow-up interval; each follow-up moves the next due date; a missed one is alerted once.
The clock is injected; intervals scale with the task deadlines (`Deadlines.scale`)."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from services.case_tracking.domain import Case
from shared.contracts.cases import ChronologyEntry, ContactType
from shared.events import Timestamp


class FollowUp(BaseModel):
    at: Timestamp
    by: str
    contact_type: ContactType
    outcome_sealed: str | None  # notes.py; None once erased


class LedgerEntry(BaseModel):
    id: str  # the case's
    case_id: str
    child_ref: str
    school_id: str  # scope: officers whose beat covers it
    org_id: str  # scope: the social-work organisation
    responsible_user_id: str
    interval_days: int
    started_at: Timestamp
    started_by: str
    next_due_at: Timestamp
    follow_ups: list[FollowUp] = []
    alerted_due_at: Timestamp | None = None  # the due date already alerted as overdue
    active: bool = True


def interval(entry: LedgerEntry, *, scale: float) -> timedelta:
    return timedelta(days=entry.interval_days) * scale


def monitor(
    entry: LedgerEntry | None,
    case: Case,
    *,
    responsible: str,
    interval_days: int,
    by: str,
    scale: float,
    now: datetime,
) -> LedgerEntry:
    """A case goes under monitoring, or its responsible person or interval changes; the next
    follow-up is due an interval after the last one (or from now)."""
    if entry is None:
        entry = LedgerEntry(
            id=case.id,
            case_id=case.id,
            child_ref=case.child_ref,
            school_id=case.school_ids[0],
            org_id=case.org_ids[0],
            responsible_user_id=responsible,
            interval_days=interval_days,
            started_at=now,
            started_by=by,
            next_due_at=now,
        )
    entry = entry.model_copy(
        update={"responsible_user_id": responsible, "interval_days": interval_days, "active": True}
    )
    last = entry.follow_ups[-1].at if entry.follow_ups else now
    return entry.model_copy(update={"next_due_at": last + interval(entry, scale=scale)})


def record(
    entry: LedgerEntry,
    *,
    by: str,
    contact_type: ContactType,
    sealed: str,
    scale: float,
    now: datetime,
) -> LedgerEntry:
    held = FollowUp(at=now, by=by, contact_type=contact_type, outcome_sealed=sealed)
    return entry.model_copy(
        update={
            "follow_ups": [*entry.follow_ups, held],
            "next_due_at": now + interval(entry, scale=scale),
        }
    )


def overdue(entry: LedgerEntry, *, at: datetime) -> LedgerEntry | None:
    """The entry with its missed follow-up alerted, or None: not monitored any more, followed
    up since (a later due date), or alerted already."""
    if not entry.active or at != entry.next_due_at or entry.alerted_due_at == at:
        return None
    return entry.model_copy(update={"alerted_due_at": at})


def noted(case: Case, *, kind: str, text: str, now: datetime) -> Case:
    entry = ChronologyEntry(at=now, kind=kind, text=text, ref=case.id)
    return case.model_copy(update={"updated_at": now, "chronology": [*case.chronology, entry]})
