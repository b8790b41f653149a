"""Pure rules of counselling: who keeps the list, what each role sees, a session's life, and
when an unrecorded session is overdue. The clock is always handed in."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from services.school_liaison.domain import SOCIAL_STUDENT_FIELDS, Disclosure, report_disclosure
from services.school_liaison.models import School
from shared.contracts.counselling import (
    CounsellingReason,
    CounsellorRole,
    CounsellorScope,
    RemovalReason,
    SessionRecord,
    SessionStatus,
)
from shared.contracts.school import ReportCategory
from shared.events import Timestamp
from shared.identity import SCHOOL_STAFF, Principal, Role

# A record of acute risk is a concern report of this kind, danger now: critical, at once.
ACUTE_RISK_CATEGORY = ReportCategory.psychological_distress


class Entry(BaseModel):
    """A student on a school's counselling list; identity sealed under the child's key."""

    id: str
    school_id: str
    social_org_id: str
    child_ref: str
    reason: CounsellingReason
    added_by: str
    added_at: Timestamp
    sealed: str | None  # {"student": {...}} under the child's data key, the entry id as AAD
    latest_state: int | None = None
    # Off the list: kept (its state history stays readable) until retention erases the child.
    removed_at: Timestamp | None = None
    removed_by: str | None = None
    removal_reason: RemovalReason | None = None


class Session(BaseModel):
    id: str
    entry_id: str
    school_id: str
    social_org_id: str
    child_ref: str
    counsellor_id: str
    counsellor_role: CounsellorRole
    place: str
    scheduled_at: Timestamp
    status: SessionStatus = SessionStatus.scheduled
    attended_by: list[str] = []
    state: int | None = None
    acute_risk: bool = False
    report_id: str | None = None
    recorded_by: str | None = None
    recorded_at: Timestamp | None = None
    sealed_note: str | None = None  # under the child's data key, the session id as AAD
    alerted_at: Timestamp | None = None  # the overdue alert's claim: raised once


class Refusal(Exception):
    """A rule said no; the use case turns it into the matching HTTP refusal."""


def may_keep_list(principal: Principal, school: School) -> bool:
    """The school's staff, its community officer(s), the social workers serving it."""
    if principal.role in SCHOOL_STAFF:
        return principal.school_id == school.id
    if principal.role is Role.police_officer:
        return school.id in principal.school_ids
    if principal.role is Role.social_worker:
        return principal.org_id == school.social_org_id
    return False


def serves(counsellor: CounsellorScope, school: School) -> bool:
    """A counsellor serves the school: an officer whose beat covers it, a social worker of the
    organisation serving it (the same scopes as a task's reassignment, docs/tasks.md)."""
    if counsellor.role is CounsellorRole.police_officer:
        return school.id in counsellor.school_ids
    return counsellor.org_id is not None and counsellor.org_id == school.social_org_id


def remove(entry: Entry, *, reason: RemovalReason, by: str, now: datetime) -> Entry:
    if entry.removed_at is not None:
        raise Refusal("the student is off the list already")
    return entry.model_copy(update={"removed_at": now, "removed_by": by, "removal_reason": reason})


def disclosure(principal: Principal, *, school_id: str, social_org_id: str) -> Disclosure | None:
    """As for the school's reports: staff and officer all, social work without the ID number,
    the desk the pseudonym, reason and states only; None: not the caller's to see (404)."""
    return report_disclosure(principal, school_id=school_id, social_org_id=social_org_id)


def shape_student(student: dict[str, Any] | None, level: Disclosure) -> dict[str, Any] | None:
    if student is None or level is Disclosure.minimal:
        return None
    if level is Disclosure.social:
        return {k: student[k] for k in SOCIAL_STUDENT_FIELDS if k in student}
    return dict(student)


def sees_notes(level: Disclosure) -> bool:
    """Counselling notes are for those who counsel and the school, not the desk."""
    return level is not Disclosure.minimal


def record(
    session: Session, body: SessionRecord, *, by: str, now: datetime, report_id: str | None
) -> Session:
    if session.status is not SessionStatus.scheduled:
        raise Refusal(f"session is {session.status.value}, not scheduled")
    return session.model_copy(
        update={
            "status": SessionStatus.held,
            "attended_by": body.attended_by,
            "state": body.state,
            "acute_risk": body.acute_risk,
            "report_id": report_id,
            "recorded_by": by,
            "recorded_at": now,
        }
    )


def mark_missed(session: Session, *, by: str, now: datetime) -> Session:
    if session.status is not SessionStatus.scheduled:
        raise Refusal(f"session is {session.status.value}, not scheduled")
    return session.model_copy(
        update={"status": SessionStatus.missed, "recorded_by": by, "recorded_at": now}
    )


def may_record(principal: Principal, session: Session) -> bool:
    """The session's counsellor records it; nobody records in another's name."""
    return principal.user_id == session.counsellor_id


def overdue(session: Session, *, now: datetime, grace: timedelta) -> bool:
    """Still scheduled `grace` after its time, and not alerted yet."""
    return (
        session.status is SessionStatus.scheduled
        and session.alerted_at is None
        and session.scheduled_at + grace < now
    )


def acute_risk_description(session: Session, note: str) -> str:
    return (
        f"Counselling session {session.id} ({session.place}) recorded the student at acute "
        f"risk. Counsellor's note: {note}"
    )
