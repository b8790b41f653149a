"""school_liaison's pure rules: severity of a concern, who may file, who may read."""

from __future__ import annotations

import hashlib

import pytest

from services.school_liaison.domain import (
    BASE_SEVERITY,
    derive_severity,
    may_file_for,
    may_read_report,
    may_see_school,
    request_fingerprint,
)
from services.school_liaison.privacy import fingerprint_key
from shared.contracts.school import ReportCategory, ReportCreate, Severity
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit

SCHOOL = "school-1"
ORG = "org-1"


# --- derive_severity -------------------------------------------------------------------------


@pytest.mark.parametrize("category", list(ReportCategory))
def test_every_category_has_a_floor_used_when_reporter_gives_none(category: ReportCategory) -> None:
    assert derive_severity(category, given=None, immediate_danger=False) is BASE_SEVERITY[category]


def test_self_harm_is_critical_and_bullying_victim_high_by_default() -> None:
    assert derive_severity(ReportCategory.self_harm, given=None, immediate_danger=False) is (
        Severity.critical
    )
    assert derive_severity(ReportCategory.bullying_victim, given=None, immediate_danger=False) is (
        Severity.high
    )


@pytest.mark.parametrize("category", list(ReportCategory))
@pytest.mark.parametrize("given", list(Severity))
def test_reporter_may_raise_but_never_lower(category: ReportCategory, given: Severity) -> None:
    result = derive_severity(category, given=given, immediate_danger=False)
    floor = BASE_SEVERITY[category]
    assert result.rank == max(floor.rank, given.rank)


def test_self_harm_filed_as_low_stays_critical() -> None:
    got = derive_severity(ReportCategory.self_harm, given=Severity.low, immediate_danger=False)
    assert got is Severity.critical


def test_reporter_raises_internet_addiction_to_high() -> None:
    got = derive_severity(
        ReportCategory.internet_addiction, given=Severity.high, immediate_danger=False
    )
    assert got is Severity.high


@pytest.mark.parametrize("category", list(ReportCategory))
@pytest.mark.parametrize("given", [None, *Severity])
def test_immediate_danger_is_always_critical(
    category: ReportCategory, given: Severity | None
) -> None:
    assert derive_severity(category, given=given, immediate_danger=True) is Severity.critical


# --- who may file ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (Principal(user_id="t", role=Role.teacher, school_id=SCHOOL), True),
        (Principal(user_id="t", role=Role.teacher, school_id="school-2"), False),
        (Principal(user_id="t", role=Role.teacher), False),
        (Principal(user_id="l", role=Role.school_safety_lead, school_id=SCHOOL), True),
        (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-2"), False),
        # Scope fields alone never make a non-school role a reporter.
        (Principal(user_id="p", role=Role.police_officer, school_ids=(SCHOOL,)), False),
        (Principal(user_id="p", role=Role.police_officer, school_id=SCHOOL), False),
        (Principal(user_id="w", role=Role.social_worker, org_id=ORG, school_id=SCHOOL), False),
        (Principal(user_id="d", role=Role.dispatcher, school_id=SCHOOL), False),
        (Principal(user_id="s", role=Role.supervisor, school_id=SCHOOL), False),
        (Principal(user_id="a", role=Role.auditor, school_id=SCHOOL), False),
        (Principal(user_id="x", role=Role.admin, school_id=SCHOOL), False),
    ],
)
def test_may_file_for(principal: Principal, expected: bool) -> None:
    assert may_file_for(principal, SCHOOL) is expected


# --- who may read a report / see a school ------------------------------------------------------

# (principal, may read the report, may see the school) for a report of SCHOOL served by ORG
ACCESS = [
    (Principal(user_id="t", role=Role.teacher, school_id=SCHOOL), True, True),
    (Principal(user_id="t", role=Role.teacher, school_id="school-2"), False, False),
    (Principal(user_id="t", role=Role.teacher), False, False),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id=SCHOOL), True, True),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-2"), False, False),
    (
        Principal(user_id="p", role=Role.police_officer, school_ids=("school-0", SCHOOL)),
        True,
        True,
    ),
    (Principal(user_id="p", role=Role.police_officer, school_ids=("school-2",)), False, False),
    (Principal(user_id="p", role=Role.police_officer, school_id=SCHOOL), False, False),
    (Principal(user_id="w", role=Role.social_worker, org_id=ORG), True, True),
    (Principal(user_id="w", role=Role.social_worker, org_id="org-2"), False, False),
    (Principal(user_id="w", role=Role.social_worker, school_id=SCHOOL), False, False),
    (Principal(user_id="d", role=Role.dispatcher), True, True),
    (Principal(user_id="s", role=Role.supervisor), True, True),
    (Principal(user_id="x", role=Role.admin), True, True),
    # The auditor sees the school directory (no child data) but not reports.
    (Principal(user_id="a", role=Role.auditor), False, True),
    # Campaign participants: no report, not even the directory (they are told where to go).
    (Principal(user_id="g", role=Role.grid_worker, school_ids=(SCHOOL,)), False, False),
    (Principal(user_id="v", role=Role.safety_volunteer, school_ids=(SCHOOL,)), False, False),
]


def test_access_matrix_covers_every_role() -> None:
    assert {p.role for p, _, _ in ACCESS} == set(Role)


@pytest.mark.parametrize(("principal", "may_read", "_may_see"), ACCESS)
def test_may_read_report(principal: Principal, may_read: bool, _may_see: bool) -> None:
    assert may_read_report(principal, school_id=SCHOOL, social_org_id=ORG) is may_read


@pytest.mark.parametrize(("principal", "_may_read", "may_see"), ACCESS)
def test_may_see_school(principal: Principal, _may_read: bool, may_see: bool) -> None:
    assert may_see_school(principal, school_id=SCHOOL, social_org_id=ORG) is may_see


def test_the_request_fingerprint_is_keyed_by_a_key_derived_from_the_pii_key() -> None:
    body = ReportCreate.model_validate(
        {
            "school_id": "sch-01",
            "category": "truancy",
            "description": "absent since Monday",
            "student": {"name": "Li Ming", "id_number": "14050220100101567X"},
        }
    )
    key_a, key_b = fingerprint_key(b"a" * 32), fingerprint_key(b"b" * 32)
    assert key_a == fingerprint_key(b"a" * 32)
    assert key_a != b"a" * 32
    plain = hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    assert request_fingerprint(body, key=key_a) == request_fingerprint(body, key=key_a)
    keyed_a, keyed_b = request_fingerprint(body, key=key_a), request_fingerprint(body, key=key_b)
    assert len({plain, keyed_a, keyed_b}) == 3
