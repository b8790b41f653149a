"""When a child's details are due for erasure: closed long enough, nothing newer open."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.school_liaison.domain import (
    cancel_erasure,
    erasure_due,
    only_closed_cases,
    record_closure,
    record_removal,
    retention_expired,
)
from services.school_liaison.models import PendingErasure, Report
from tests.unit.school_liaison.factories import a_report

pytestmark = pytest.mark.unit

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
RETENTION = timedelta(days=1095)
CHILD = "child-abc"


def report(case_id: str | None, *, sealed: str | None = "blob") -> Report:
    return a_report(
        id=f"rep-{case_id}", child_ref=CHILD, filed_at=T0, case_id=case_id, sealed=sealed
    )


def closed(case_id: str = "case-1", at: datetime = T0) -> PendingErasure:
    return record_closure(None, child_ref=CHILD, case_id=case_id, closed_at=at)


# --- the period ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "expected"),
    [
        (T0, False),
        (T0 + RETENTION - timedelta(seconds=1), False),
        (T0 + RETENTION, False),  # exactly at the end: not yet past it
        (T0 + RETENTION + timedelta(microseconds=1), True),
        (T0 + RETENTION * 2, True),
    ],
)
def test_retention_expires_strictly_after_the_period(now: datetime, expected: bool) -> None:
    assert retention_expired(T0, retention=RETENTION, now=now) is expected


def test_a_cancelled_erasure_never_expires() -> None:
    assert retention_expired(None, retention=RETENTION, now=T0 + RETENTION * 10) is False


# --- closures and cancellation ---------------------------------------------------------------


def test_first_closure_records_case_and_time() -> None:
    assert closed() == PendingErasure(child_ref=CHILD, closed_at=T0, closed_case_ids=["case-1"])


def test_a_new_report_cancels_but_remembers_the_closed_cases() -> None:
    cancelled = cancel_erasure(closed())
    assert cancelled.closed_at is None
    assert cancelled.closed_case_ids == ["case-1"]


def test_a_later_closure_restarts_the_clock_and_adds_its_case() -> None:
    later = T0 + timedelta(days=100)
    pending = record_closure(
        cancel_erasure(closed()), child_ref=CHILD, case_id="case-2", closed_at=later
    )
    assert pending.closed_at == later
    assert pending.closed_case_ids == ["case-1", "case-2"]


def test_a_redelivered_older_closure_never_moves_the_clock_back() -> None:
    later = T0 + timedelta(days=100)
    pending = record_closure(closed(), child_ref=CHILD, case_id="case-2", closed_at=later)
    again = record_closure(pending, child_ref=CHILD, case_id="case-1", closed_at=T0)
    assert again == pending


# --- due or not ------------------------------------------------------------------------------

PAST = T0 + RETENTION + timedelta(days=1)


def test_due_when_expired_and_every_report_is_in_a_closed_case() -> None:
    assert erasure_due(
        closed(), [report("case-1"), report("case-1")], retention=RETENTION, now=PAST
    )


def test_not_due_before_the_period_ends() -> None:
    assert not erasure_due(closed(), [report("case-1")], retention=RETENTION, now=T0)


def test_not_due_once_a_new_report_cancelled_it() -> None:
    pending = cancel_erasure(closed())
    assert not erasure_due(pending, [report("case-1")], retention=RETENTION, now=PAST)


@pytest.mark.parametrize(
    "newer",
    [report(None), report("case-2")],
    ids=["not-linked-yet", "in-a-newer-open-case"],
)
def test_a_report_outside_the_closed_cases_holds_the_erasure_back(newer: Report) -> None:
    """The report raced the closure (filed before school_liaison heard of it, or taken into
    a new case after it): the cancellation could not see it, this check does."""
    reports = [report("case-1"), newer]
    assert not only_closed_cases(reports, closed_case_ids=["case-1"])
    assert not erasure_due(closed(), reports, retention=RETENTION, now=PAST)


def test_reports_erased_earlier_do_not_hold_a_later_erasure_back() -> None:
    """A child erased once and reported again: the old, already empty reports do not count."""
    reports = [report("case-1", sealed=None), report("case-7")]
    assert erasure_due(closed("case-7"), reports, retention=RETENTION, now=PAST)


def test_earlier_closed_cases_count_once_a_later_case_closes() -> None:
    pending = record_closure(
        cancel_erasure(closed()), child_ref=CHILD, case_id="case-2", closed_at=T0
    )
    reports = [report("case-1"), report("case-2")]
    assert erasure_due(pending, reports, retention=RETENTION, now=PAST)


# --- a child on a counselling list -----------------------------------------------------------


def test_a_child_on_a_list_is_never_due_and_its_removal_starts_retention() -> None:
    past = T0 + RETENTION + timedelta(days=1)
    assert not erasure_due(closed(), [report("case-1")], retention=RETENTION, now=past, listed=True)
    only_listed = record_removal(None, child_ref=CHILD, removed_at=T0)
    assert only_listed.closed_case_ids == []
    assert erasure_due(only_listed, [], retention=RETENTION, now=past)
    assert not erasure_due(only_listed, [], retention=RETENTION, now=T0 + RETENTION)
    # An open case blocks it: its report's case is not among the closed ones.
    assert not erasure_due(only_listed, [report("case-9")], retention=RETENTION, now=past)
    # The later of a closure and a removal starts the period.
    later = record_removal(closed(at=T0), child_ref=CHILD, removed_at=T0 + timedelta(days=30))
    assert later.closed_at == T0 + timedelta(days=30)
    assert later.closed_case_ids == ["case-1"]
    resumed = record_removal(cancel_erasure(closed()), child_ref=CHILD, removed_at=T0)
    assert resumed.closed_at == T0
