"""The assistance ledger's rules, pure: the follow-up schedule and the missed follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.case_tracking import ledger
from services.case_tracking.domain import take_report
from shared.contracts.cases import ContactType
from tests.unit.case_tracking.test_domain import report

pytestmark = pytest.mark.unit
T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)
CASE = take_report(None, report(), now=T0, new_case_id="case-1", new_task_ids=("p", "s")).case


def monitored(now: datetime = T0, *, days: int = 14) -> ledger.LedgerEntry:
    return ledger.monitor(None, CASE, responsible="officer-1", interval_days=days, by="desk",
                          scale=1.0, now=now)  # fmt: skip


def test_the_first_follow_up_is_due_an_interval_after_monitoring_starts() -> None:
    entry = monitored()
    assert (entry.case_id, entry.child_ref, entry.school_id, entry.org_id) == (
        "case-1", CASE.child_ref, "school-1", "org-1"
    )  # fmt: skip
    assert entry.next_due_at == T0 + 14 * DAY
    assert entry.active


def test_each_follow_up_moves_the_next_due_date_from_when_it_was_held() -> None:
    entry = monitored()
    held = T0 + 10 * DAY
    entry = ledger.record(entry, by="officer-1", contact_type=ContactType.home_visit,
                          sealed="S", scale=1.0, now=held)  # fmt: skip
    assert entry.next_due_at == held + 14 * DAY
    assert [(f.by, f.contact_type, f.outcome_sealed) for f in entry.follow_ups] == [
        ("officer-1", ContactType.home_visit, "S")
    ]


def test_changing_the_interval_counts_from_the_last_follow_up() -> None:
    entry = ledger.record(monitored(), by="o", contact_type=ContactType.phone, sealed="S",
                          scale=1.0, now=T0 + DAY)  # fmt: skip
    again = ledger.monitor(entry, CASE, responsible="officer-2", interval_days=7, by="desk",
                           scale=1.0, now=T0 + 3 * DAY)  # fmt: skip
    assert again.next_due_at == T0 + DAY + 7 * DAY
    assert again.responsible_user_id == "officer-2"
    assert again.started_at == T0


def test_the_scale_shrinks_the_interval() -> None:
    entry = ledger.monitor(None, CASE, responsible="o", interval_days=1, by="d", scale=0.001,
                           now=T0)  # fmt: skip
    assert entry.next_due_at == T0 + timedelta(seconds=86.4)


def test_a_missed_follow_up_is_alerted_once_and_only_if_still_due() -> None:
    entry = monitored()
    alerted = ledger.overdue(entry, at=entry.next_due_at)
    assert alerted is not None
    assert ledger.overdue(alerted, at=entry.next_due_at) is None  # once
    followed = ledger.record(entry, by="o", contact_type=ContactType.phone, sealed="S",
                             scale=1.0, now=T0 + 13 * DAY)  # fmt: skip
    assert ledger.overdue(followed, at=entry.next_due_at) is None  # followed up in time
    stopped = entry.model_copy(update={"active": False})
    assert ledger.overdue(stopped, at=entry.next_due_at) is None  # the case closed
