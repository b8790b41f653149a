"""Property-level shaping of a report: what each role sees, and that the rest is absent."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from services.school_liaison.domain import (
    REPORT_PUBLIC_FIELDS,
    Disclosure,
    may_read_report,
    report_disclosure,
    shape_report,
)
from services.school_liaison.models import Report
from shared.contracts.school import ReportView, StudentDetails
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit

SCHOOL = "school-1"
ORG = "org-1"
REPORT = Report.model_validate(
    {
        "id": "rep-1",
        "school_id": SCHOOL,
        "category": "self_harm",
        "severity": "critical",
        "immediate_danger": False,
        "child_ref": "child-abc",
        "community_officer_id": "officer-1",
        "social_org_id": ORG,
        "case_id": "case-1",
        "filed_by": "teacher-1",
        "filed_at": "2024-02-01T09:00:00+00:00",
        "sealed": "b64-blob",
        "seal_v": 2,
    }
)
STUDENT = StudentDetails.model_validate(
    {
        "name": "Zhang Wei",
        "id_number": "140502200901011231",
        "date_of_birth": "2009-01-01",
        "grade": "Grade 8",
        "address": "3 Yingze Street",
        "guardian_name": "Zhang Jun",
        "guardian_phone": "13800000000",
    }
).model_dump(mode="json")
PRIVATE = {"description": "Wrote a goodbye note", "student": STUDENT}
ALL_STUDENT_FIELDS = set(StudentDetails.model_fields)
SOCIAL_FIELDS = ALL_STUDENT_FIELDS - {"id_number"}
PUBLIC = set(REPORT_PUBLIC_FIELDS)

# (principal, disclosure for a report of SCHOOL served by ORG)
DISCLOSURES = [
    (Principal(user_id="t", role=Role.teacher, school_id=SCHOOL), Disclosure.full),
    (Principal(user_id="t", role=Role.teacher, school_id="school-2"), None),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id=SCHOOL), Disclosure.full),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-2"), None),
    (Principal(user_id="p", role=Role.police_officer, school_ids=(SCHOOL,)), Disclosure.full),
    (Principal(user_id="p", role=Role.police_officer, school_ids=("school-2",)), None),
    (Principal(user_id="w", role=Role.social_worker, org_id=ORG), Disclosure.social),
    (Principal(user_id="w", role=Role.social_worker, org_id="org-2"), None),
    (Principal(user_id="d", role=Role.dispatcher), Disclosure.minimal),
    (Principal(user_id="s", role=Role.supervisor), Disclosure.minimal),
    (Principal(user_id="x", role=Role.admin), Disclosure.minimal),
    (Principal(user_id="a", role=Role.auditor), None),
    (Principal(user_id="g", role=Role.grid_worker, school_ids=(SCHOOL,)), None),
    (Principal(user_id="v", role=Role.safety_volunteer, school_ids=(SCHOOL,)), None),
]


def test_disclosure_matrix_covers_every_role() -> None:
    assert {p.role for p, _ in DISCLOSURES} == set(Role)


@pytest.mark.parametrize(("principal", "expected"), DISCLOSURES)
def test_report_disclosure(principal: Principal, expected: Disclosure | None) -> None:
    assert report_disclosure(principal, school_id=SCHOOL, social_org_id=ORG) is expected
    # Reading at all and seeing something are one decision.
    readable = may_read_report(principal, school_id=SCHOOL, social_org_id=ORG)
    assert readable is (expected is not None)


def _shaped(disclosure: Disclosure, report: Report | None = None) -> dict[str, Any]:
    view = shape_report(report or REPORT, PRIVATE, disclosure)
    ReportView.model_validate(view)  # every shape is a valid answer of the contract
    return view


def test_full_disclosure_shows_everything_including_id_number_and_address() -> None:
    view = _shaped(Disclosure.full)
    assert set(view) == PUBLIC | {"description", "student"}
    assert view["description"] == PRIVATE["description"]
    assert view["student"] == STUDENT
    assert view["student"]["id_number"] == STUDENT["id_number"]


def test_social_worker_sees_name_and_family_contact_but_no_id_number() -> None:
    view = _shaped(Disclosure.social)
    assert set(view) == PUBLIC | {"description", "student"}
    assert set(view["student"]) == SOCIAL_FIELDS
    assert "id_number" not in view["student"]
    assert view["student"]["guardian_phone"] == STUDENT["guardian_phone"]


def test_station_desk_sees_no_description_and_no_student() -> None:
    view = _shaped(Disclosure.minimal)
    assert set(view) == PUBLIC
    assert "Zhang" not in str(view)
    assert "goodbye" not in str(view)


@pytest.mark.parametrize("disclosure", list(Disclosure))
def test_internal_fields_never_leave(disclosure: Disclosure) -> None:
    view = _shaped(disclosure)
    for internal in ("sealed", "seal_v", "community_officer_id", "social_org_id"):
        assert internal not in view


@pytest.mark.parametrize("disclosure", list(Disclosure))
def test_erased_report_shows_when_and_no_details_to_anyone(disclosure: Disclosure) -> None:
    erased = REPORT.model_copy(
        update={"sealed": None, "erased_at": datetime(2030, 1, 1, tzinfo=UTC)}
    )
    view = shape_report(erased, None, disclosure)
    assert set(view) == PUBLIC | {"erased_at"}
    ReportView.model_validate(view)
    # Even if details were somehow at hand, an erased report does not show them.
    assert shape_report(erased, PRIVATE, disclosure) == view


@pytest.mark.parametrize("disclosure", [Disclosure.full, Disclosure.social])
def test_unopenable_report_shows_only_the_public_part(disclosure: Disclosure) -> None:
    """The child's key is gone (e.g. a restored backup of the reports): nothing to show."""
    assert set(shape_report(REPORT, None, disclosure)) == PUBLIC


def test_student_fields_missing_from_an_old_record_stay_missing_for_social_workers() -> None:
    private = {"description": "x", "student": {"name": "Li Ming", "id_number": "1234"}}
    assert shape_report(REPORT, private, Disclosure.social)["student"] == {"name": "Li Ming"}


def test_contract_does_not_require_the_shaped_away_fields() -> None:
    schema = ReportView.model_json_schema(mode="serialization")
    required = set(schema["required"])
    assert required == PUBLIC
    assert {"description", "student", "erased_at"} <= set(schema["properties"])
