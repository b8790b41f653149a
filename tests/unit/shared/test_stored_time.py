"""Stored times order as strings the way they order in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from pydantic import BaseModel, ValidationError

from shared.events import Instant, Timestamp, stored_time


class Entity(BaseModel):
    at: Timestamp


def test_a_whole_second_sorts_before_later_times_in_that_second() -> None:
    whole = datetime(2026, 11, 29, 10, 0, 0, tzinfo=UTC)
    times = [whole + timedelta(microseconds=n) for n in (500_000, 0, 1, 999_999)]
    written = [Entity(at=t).model_dump(mode="json")["at"] for t in times]
    assert sorted(written) == [stored_time(t) for t in sorted(times)]


def test_another_offset_is_stored_as_the_same_utc_instant() -> None:
    beijing = datetime(2026, 11, 29, 18, 0, tzinfo=timezone(timedelta(hours=8)))
    assert stored_time(beijing) == "2026-11-29T10:00:00.000000+00:00"
    assert Entity.model_validate({"at": stored_time(beijing)}).at == beijing


def test_an_early_year_is_written_with_four_digits_and_reads_back() -> None:
    early = datetime(999, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert stored_time(early) == "0999-01-02T03:04:05.000000+00:00"
    assert Entity.model_validate({"at": stored_time(early)}).at == early


class Sent(BaseModel):
    starts_at: Instant


@pytest.mark.parametrize(
    "value", ["0001-01-01T00:00:00+05:00", "1899-12-31T23:59:59+00:00", "2201-01-01T00:00:00Z"]
)
def test_a_moment_no_store_or_clock_can_hold_is_refused_naming_the_field(value: str) -> None:
    with pytest.raises(ValidationError) as refused:
        Sent.model_validate({"starts_at": value})
    assert refused.value.errors()[0]["loc"] == ("starts_at",)


def test_a_plausible_moment_passes() -> None:
    assert Sent.model_validate({"starts_at": "2026-11-29T08:00:00+08:00"}).starts_at.year == 2026
