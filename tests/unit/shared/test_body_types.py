"""What a request body admits is what the OpenAPI document says: no coercion of numbers and
booleans, the resident ID number's check digit, dates as YYYY-MM-DD within the years."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest
from pydantic import BaseModel, TypeAdapter, ValidationError

from shared.contracts.body import VISIBLE
from shared.contracts.cases import CaseClose, MonitoringStart
from shared.contracts.counselling import SessionRecord
from shared.contracts.school import (
    RESIDENT_ID_FORMAT,
    RESIDENT_ID_PATTERN,
    StudentIn,
    resident_id_check,
)
from shared.contracts.venues import Letter
from shared.events import Day, Instant


def refused(model: type[BaseModel], **data: Any) -> list[Any]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return [e["loc"] for e in caught.value.errors()]


@pytest.mark.parametrize("value", ["30", True, 30.5])
def test_an_integer_field_takes_no_string_boolean_or_fraction(value: object) -> None:
    assert refused(MonitoringStart, interval_days=value, responsible_user_id="u") == [
        ("interval_days",)
    ]


def test_an_integer_field_takes_a_whole_json_number() -> None:
    assert MonitoringStart(interval_days=30.0, responsible_user_id="u").interval_days == 30


@pytest.mark.parametrize("value", ["true", 1, "yes"])
def test_a_boolean_field_takes_only_true_or_false(value: object) -> None:
    assert ("acute_risk",) in refused(SessionRecord, state=3, note="n", acute_risk=value)


def test_resident_id_numbers_carry_their_check_digit() -> None:
    # The standard's own examples (GB 11643-1999, annex).
    assert resident_id_check("11010519491231002") == "X"
    assert resident_id_check("44052418800101001") == "4"
    first = "11010519491231002"
    good = first + "X"
    assert StudentIn(name="a", id_number=good).id_number == good
    wrong = first + "1"
    assert refused(StudentIn, name="a", id_number=wrong) == [("id_number",)]
    assert refused(StudentIn, name="a", id_number="1234") == [("id_number",)]


def test_the_document_names_the_resident_id_format_and_pattern() -> None:
    schema = StudentIn.model_json_schema()["properties"]["id_number"]["anyOf"][0]
    assert schema["format"] == RESIDENT_ID_FORMAT
    assert schema["pattern"] == RESIDENT_ID_PATTERN


@pytest.mark.parametrize("value", ["0", "20261129", 0, "1899-12-31", "2201-01-01"])
def test_a_day_is_an_iso_date_within_the_years(value: object) -> None:
    class Query(BaseModel):
        day: Day

    with pytest.raises(ValidationError):
        Query.model_validate({"day": value})
    assert str(Query.model_validate({"day": "2026-11-29"}).day) == "2026-11-29"
    pattern = Query.model_json_schema()["properties"]["day"]["pattern"]
    assert re.search(pattern, "2026-11-29")
    assert not re.search(pattern, "0001-01-01")


def test_a_stripped_text_says_it_needs_a_visible_character() -> None:
    assert refused(CaseClose, reason="\n\t ") == [("reason",)]
    schema = CaseClose.model_json_schema()["properties"]["reason"]
    assert schema["pattern"] == VISIBLE
    assert not re.search(VISIBLE, "\n\t \x1c\x85")
    assert re.search(VISIBLE, " x ")


def test_a_letter_date_is_checked_as_a_day() -> None:
    assert ("signed_on",) in refused(Letter, signed_on=0, expires_on="2027-01-01")


@pytest.mark.parametrize("value", ["0.5", 7, "1899-12-31T00:00:00+00:00", "2026-11-29T08:00:00"])
def test_an_instant_is_an_iso_date_time_with_its_offset_within_the_years(value: object) -> None:
    instant: TypeAdapter[datetime] = TypeAdapter(Instant)
    with pytest.raises(ValidationError):
        instant.validate_python(value)
    assert instant.validate_python("2026-11-29T08:00:00+08:00").utcoffset() is not None
