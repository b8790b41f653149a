"""Stored times order as strings the way they order in time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from pydantic import BaseModel

from shared.events import Timestamp, stored_time


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
