"""Pure rules of school_liaison: severity of a concern, who may file and who may read."""

from __future__ import annotations

import hashlib

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


def may_read_report(principal: Principal, *, school_id: str, social_org_id: str) -> bool:
    if principal.role in STATION_WIDE:
        return True
    if principal.role in SCHOOL_STAFF:
        return principal.school_id == school_id
    if principal.role is Role.police_officer:
        return school_id in principal.school_ids
    if principal.role is Role.social_worker:
        return principal.org_id == social_org_id
    return False


def may_see_school(principal: Principal, *, school_id: str, social_org_id: str) -> bool:
    """Staff see their own school, officers their beat, social workers the schools they serve."""
    if principal.role is Role.auditor:
        return True  # school directory holds no child data
    return may_read_report(principal, school_id=school_id, social_org_id=social_org_id)


def request_fingerprint(body: ReportCreate) -> str:
    """Identifies a request body, so a reused Idempotency-Key with a different body is caught."""
    return hashlib.sha256(body.model_dump_json().encode()).hexdigest()
