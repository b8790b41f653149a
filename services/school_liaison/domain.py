"""Pure rules of school_liaison: severity, who may file and read, what each role sees, and
when a child's details are due for erasure."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection, Iterable, Mapping
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from services.school_liaison.models import PendingErasure, Private, Report
from services.school_liaison.privacy import normalised_name
from shared.contracts.school import ReportCategory, ReportCreate, Severity
from shared.identity import SCHOOL_STAFF, STATION_WIDE, Principal, Role

# What a category means on its own, before the reporter's judgement is taken into account.
BASE_SEVERITY: dict[ReportCategory, Severity] = {
    ReportCategory.self_harm: Severity.critical,
    ReportCategory.bullying_victim: Severity.high,
    ReportCategory.psychological_distress: Severity.high,
    ReportCategory.family_problem: Severity.medium,
    ReportCategory.bullying_perpetrator: Severity.medium,
    ReportCategory.gambling: Severity.medium,
    ReportCategory.truancy: Severity.medium,
    ReportCategory.teacher_conflict: Severity.low,
    ReportCategory.internet_addiction: Severity.low,
}


def derive_severity(
    category: ReportCategory, *, given: Severity | None, immediate_danger: bool
) -> Severity:
    """The higher of the category's floor and the reporter's judgement; danger now is critical.

    A reporter may raise the severity but never lower it below what the category implies:
    a self-harm report filed as "low" is still handled as critical.
    """
    if immediate_danger:
        return Severity.critical
    floor = BASE_SEVERITY[category]
    if given is None:
        return floor
    return given if given.rank > floor.rank else floor


def may_file_for(principal: Principal, school_id: str) -> bool:
    return principal.role in SCHOOL_STAFF and principal.school_id == school_id


class Disclosure(StrEnum):
    """How much of a report a caller sees."""

    full = "full"  # the school's staff; its community officer (home visits, household checks)
    social = "social"  # the school's social-work organisation: whom to help, how to reach them
    minimal = "minimal"  # the station's desk: enough to route, count and follow; no child details


def report_disclosure(
    principal: Principal, *, school_id: str, social_org_id: str
) -> Disclosure | None:
    """None: the report is not the caller's to see at all (answered 404)."""
    if principal.role in STATION_WIDE:
        return Disclosure.minimal
    if principal.role in SCHOOL_STAFF:
        return Disclosure.full if principal.school_id == school_id else None
    if principal.role is Role.police_officer:
        return Disclosure.full if school_id in principal.school_ids else None
    if principal.role is Role.social_worker:
        return Disclosure.social if principal.org_id == social_org_id else None
    return None


def may_read_report(principal: Principal, *, school_id: str, social_org_id: str) -> bool:
    disclosure = report_disclosure(principal, school_id=school_id, social_org_id=social_org_id)
    return disclosure is not None


# Fields everyone who may read a report sees: none of them identifies or describes the child.
REPORT_PUBLIC_FIELDS = (
    "id",
    "school_id",
    "category",
    "severity",
    "immediate_danger",
    "child_ref",
    "case_id",
    "filed_by",
    "filed_at",
)
# A social worker needs to find and help the child and family, not the ID number. A list of
# what is shown (not of what is hidden), so a student field added later stays hidden from them.
SOCIAL_STUDENT_FIELDS = (
    "name",
    "date_of_birth",
    "grade",
    "address",
    "guardian_name",
    "guardian_phone",
)


def shape_report(report: Report, private: Private | None, disclosure: Disclosure) -> dict[str, Any]:
    """The answer for a caller, as JSON: what the role does not need is absent, not blank.

    `private` is the unsealed part ({description, student}); None when it was not opened
    (minimal disclosure) or cannot be (the child's key is gone).
    """
    facts = report.model_dump(mode="json")
    view = {k: facts[k] for k in REPORT_PUBLIC_FIELDS}
    if report.erased_at is not None:
        view["erased_at"] = facts["erased_at"]
        return view
    if private is None or disclosure is Disclosure.minimal:
        return view
    student = dict(private["student"])
    if disclosure is Disclosure.social:
        student = {k: student[k] for k in SOCIAL_STUDENT_FIELDS if k in student}
    view["description"] = private["description"]
    view["student"] = student
    return view


def may_see_school(principal: Principal, *, school_id: str, social_org_id: str) -> bool:
    """Staff see their own school, officers their beat, social workers the schools they serve."""
    if principal.role in (Role.auditor, Role.admin):
        return True  # the directory holds no child data; the admin keeps it
    return may_read_report(principal, school_id=school_id, social_org_id=social_org_id)


def request_fingerprint(body: ReportCreate, *, key: bytes) -> str:
    """Identifies a request body, so a reused Idempotency-Key with a different body is caught.

    Keyed: the body names the child, and a plain hash of a name and an ID number can be
    reversed by hashing candidates (ID numbers are few and structured)."""
    return hmac.new(key, body.model_dump_json().encode(), hashlib.sha256).hexdigest()


# --- identity ----------------------------------------------------------------------------------


class SealedIdentity(BaseModel):
    """Who the child's earlier reports say the child is (only ever held unsealed in memory)."""

    name: str  # normalised
    date_of_birth: str | None


def sealed_identity(students: Iterable[Mapping[str, Any]]) -> SealedIdentity | None:
    """The first report's name and the first date of birth any report gave; None: no report
    about the child is sealed (a new child, or one whose details were erased)."""
    name: str | None = None
    born: str | None = None
    for student in students:
        name = name if name is not None else normalised_name(student["name"])
        born = born or student.get("date_of_birth")
    return None if name is None else SealedIdentity(name=name, date_of_birth=born)


def learned_identity(known: SealedIdentity | None, student: Mapping[str, Any]) -> SealedIdentity:
    """The identity once `student`'s report is among the child's reports: what
    `sealed_identity` gives for all of them, from what it gave for the earlier ones."""
    if known is None:
        return SealedIdentity(
            name=normalised_name(student["name"]),
            date_of_birth=student.get("date_of_birth") or None,
        )
    if known.date_of_birth is None and student.get("date_of_birth"):
        return known.model_copy(update={"date_of_birth": student["date_of_birth"]})
    return known


def identity_differs(known: SealedIdentity | None, student: Mapping[str, Any]) -> bool:
    """A report joined the child by ID number but names somebody else, or gives another date
    of birth: it still joins the case (the ID number decides), and the supervisor checks."""
    if known is None:
        return False
    if normalised_name(student["name"]) != known.name:
        return True
    born = student.get("date_of_birth")
    return born is not None and known.date_of_birth is not None and born != known.date_of_birth


# --- retention -------------------------------------------------------------------------------


def record_closure(
    pending: PendingErasure | None, *, child_ref: str, case_id: str, closed_at: datetime
) -> PendingErasure:
    if pending is None:
        return PendingErasure(child_ref=child_ref, closed_at=closed_at, closed_case_ids=[case_id])
    ids = pending.closed_case_ids
    latest = closed_at if pending.closed_at is None else max(pending.closed_at, closed_at)
    return pending.model_copy(
        update={"closed_at": latest, "closed_case_ids": ids if case_id in ids else [*ids, case_id]}
    )


def record_removal(
    pending: PendingErasure | None, *, child_ref: str, removed_at: datetime
) -> PendingErasure:
    """The child came off a counselling list: retention runs from then, as from a case's
    closure (a child only ever on a list has no case, so this is its only start)."""
    if pending is None:
        return PendingErasure(child_ref=child_ref, closed_at=removed_at, closed_case_ids=[])
    latest = removed_at if pending.closed_at is None else max(pending.closed_at, removed_at)
    return pending.model_copy(update={"closed_at": latest})


def cancel_erasure(pending: PendingErasure) -> PendingErasure:
    """A new report about the child: its details are needed again; nothing is due."""
    return pending.model_copy(update={"closed_at": None})


def retention_expired(closed_at: datetime | None, *, retention: timedelta, now: datetime) -> bool:
    return closed_at is not None and closed_at + retention < now


def only_closed_cases(reports: Iterable[Report], *, closed_case_ids: Collection[str]) -> bool:
    """Every report still holding details belongs to a case known to be closed.

    Guards the races a cancellation cannot see: a report filed before the closure but taken
    into a new case after it, or filed before school_liaison heard of the closure. A report
    not linked to a case yet (case_id None) blocks the erasure too.
    """
    return all(r.case_id in closed_case_ids for r in reports if r.sealed is not None)


def erasure_due(
    pending: PendingErasure,
    reports: Iterable[Report],
    *,
    retention: timedelta,
    now: datetime,
    listed: bool = False,
) -> bool:
    """Due when retention ran out, every report's case is closed and the child is on no
    counselling list (`listed`: an entry not removed, at any school)."""
    return (
        not listed
        and retention_expired(pending.closed_at, retention=retention, now=now)
        and only_closed_cases(reports, closed_case_ids=pending.closed_case_ids)
    )
