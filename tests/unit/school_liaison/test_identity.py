"""Identity review: a report that reuses a child's ID number with other details still joins the
child, and is marked so the supervisor checks. Trivial differences in writing do not mark it."""

from __future__ import annotations

import pytest

from services.school_liaison.domain import (
    SealedIdentity,
    identity_differs,
    learned_identity,
    sealed_identity,
)
from services.school_liaison.privacy import normalised_name

pytestmark = pytest.mark.unit

LI = {"name": "Li Ming", "id_number": "14050220100101567X"}


def test_no_earlier_report_means_nothing_to_differ_from() -> None:
    assert sealed_identity([]) is None
    assert identity_differs(None, {"name": "Anybody"}) is False


def test_the_first_reports_name_and_the_first_date_of_birth_given_are_the_identity() -> None:
    students = [LI, {**LI, "name": "Made Up"}, {**LI, "date_of_birth": "2010-01-01"}]
    assert sealed_identity(students) == SealedIdentity(name="liming", date_of_birth="2010-01-01")


@pytest.mark.parametrize(
    "written",
    ["Li Ming", "  li  ming ", "LI MING", "LiMing", "Ｌｉ　Ｍｉｎｇ", "li\tming\n"],
)
def test_case_whitespace_and_full_width_forms_are_the_same_name(written: str) -> None:
    known = sealed_identity([LI])
    assert identity_differs(known, {"name": written}) is False
    assert normalised_name(written) == "liming"


@pytest.mark.parametrize("other", ["Made Up", "Li Min", "Li Mingg", "Wang Fang"])
def test_another_name_for_the_same_id_number_differs(other: str) -> None:
    assert identity_differs(sealed_identity([LI]), {**LI, "name": other}) is True


def test_another_date_of_birth_differs_when_both_are_known() -> None:
    known = sealed_identity([{**LI, "date_of_birth": "2010-01-01"}])
    assert identity_differs(known, {**LI, "date_of_birth": "2010-01-02"}) is True
    assert identity_differs(known, {**LI, "date_of_birth": "2010-01-01"}) is False
    assert identity_differs(known, {**LI, "date_of_birth": None}) is False  # not given: no clash


def test_a_date_of_birth_with_none_known_yet_does_not_differ() -> None:
    assert identity_differs(sealed_identity([LI]), {**LI, "date_of_birth": "2010-01-01"}) is False


@pytest.mark.parametrize(
    "students",
    [
        [LI],
        [LI, {**LI, "name": "Made Up"}, {**LI, "date_of_birth": "2010-01-01"}],
        [{**LI, "date_of_birth": ""}, {**LI, "date_of_birth": "2010-01-01"}],
        [{**LI, "date_of_birth": "2010-01-02"}, {**LI, "date_of_birth": "2010-01-01"}],
        [{**LI, "name": "Wang Fang"}, LI, {**LI, "date_of_birth": None}],
    ],
)
def test_learning_report_by_report_gives_what_all_the_reports_give(
    students: list[dict[str, str]],
) -> None:
    """What a child's key row keeps, one filing at a time, is what reading every report says."""
    known: SealedIdentity | None = None
    for student in students:
        known = learned_identity(known, student)
    assert known == sealed_identity(students)
