"""Inspections' pure rules: who inspects and sees which school, the checklist answered whole,
a failed item's notice and deadline, the notice's life, and overdue (the clock handed in)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.patrol.inspections import domain
from services.patrol.inspections.domain import DEFAULT_CHECKLIST, Inspection
from shared.contracts.inspections import ItemResult, NoticeStatus, Reinspection
from shared.identity import Principal, Role

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
CHECKLIST = list(DEFAULT_CHECKLIST)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01", "sch-02"))


def answers(failed: str | None = None) -> list[ItemResult]:
    return [ItemResult(item=i.code, passed=i.code != failed) for i in CHECKLIST]


def inspection(failed: str | None = "cctv") -> Inspection:
    return Inspection(
        id="insp-1",
        school_id="sch-01",
        officer_id="officer1",
        inspected_at=T0,
        results=answers(failed),
        notice_ids=[],
    )


def test_the_checklist_starts_with_the_four_items_of_the_programme() -> None:
    assert [i.code for i in CHECKLIST] == [
        "one_button_alarm",
        "gate_staff",
        "cctv",
        "fire_equipment",
    ]


@pytest.mark.parametrize(
    ("principal", "inspects", "sees"),
    [
        (OFFICER, True, True),
        (Principal(user_id="o", role=Role.police_officer, school_ids=("sch-10",)), False, False),
        (Principal(user_id="t", role=Role.teacher, school_id="sch-01"), False, True),
        (Principal(user_id="l", role=Role.school_safety_lead, school_id="sch-02"), False, False),
        (Principal(user_id="d", role=Role.dispatcher), False, True),
        (Principal(user_id="s", role=Role.supervisor), False, True),
        (Principal(user_id="w", role=Role.social_worker, org_id="org-rainbow"), False, False),
        (Principal(user_id="g", role=Role.grid_worker, school_ids=("sch-01",)), False, False),
    ],
)
def test_who_inspects_and_who_sees_a_school(
    principal: Principal, inspects: bool, sees: bool
) -> None:
    assert domain.may_inspect(principal, "sch-01") is inspects
    assert domain.may_see(principal, "sch-01") is sees


@pytest.mark.parametrize(
    ("results", "message"),
    [
        (answers()[:-1], "not answered: fire_equipment"),
        ([*answers(), ItemResult(item="cctv", passed=True)], "answered twice"),
        ([*answers(), ItemResult(item="moat", passed=True)], "not on the checklist: moat"),
    ],
)
def test_every_item_is_answered_once_and_nothing_else(
    results: list[ItemResult], message: str
) -> None:
    with pytest.raises(domain.Refusal, match=message) as refused:
        domain.check_results(results, CHECKLIST)
    assert refused.value.field == "results"


def test_each_failed_item_becomes_a_notice_due_by_its_own_deadline() -> None:
    [notice] = domain.notices_for(inspection("gate_staff"), CHECKLIST, new_id=["rect-1"])
    assert (notice.item, notice.status) == ("gate_staff", NoticeStatus.open)
    assert notice.deadline == T0 + timedelta(days=3)
    assert domain.notices_for(inspection(None), CHECKLIST, new_id=[]) == []


def test_fixed_reinspected_closed_or_reopened_with_a_later_deadline() -> None:
    [notice] = domain.notices_for(inspection(), CHECKLIST, new_id=["rect-1"])
    fixed = domain.report_fixed(notice, note="New cameras", by="safety1", now=T0)
    assert fixed.status is NoticeStatus.fixed_reported
    with pytest.raises(domain.Refusal):
        domain.report_fixed(fixed, note="again", by="safety1", now=T0)
    later = T0 + timedelta(days=1)
    with pytest.raises(domain.Refusal) as no_deadline:
        domain.reinspect(fixed, Reinspection(passed=False), now=later)
    assert no_deadline.value.field == "new_deadline"
    with pytest.raises(domain.Refusal):
        domain.reinspect(fixed, Reinspection(passed=False, new_deadline=T0), now=later)
    reopened = domain.reinspect(
        fixed.model_copy(update={"overdue_alerted_at": T0}),
        Reinspection(passed=False, new_deadline=later + timedelta(days=7)),
        now=later,
    )
    assert (reopened.status, reopened.reinspections) == (NoticeStatus.open, 1)
    assert reopened.overdue_alerted_at is None  # the new deadline may be alerted again
    closed = domain.reinspect(reopened, Reinspection(passed=True), now=later)
    assert (closed.status, closed.closed_at, closed.reinspections) == (
        NoticeStatus.closed,
        later,
        2,
    )
    with pytest.raises(domain.Refusal):
        domain.reinspect(closed, Reinspection(passed=True), now=later)


def test_overdue_is_open_past_the_deadline_and_alerted_once_per_deadline() -> None:
    [notice] = domain.notices_for(inspection(), CHECKLIST, new_id=["rect-1"])
    due = notice.deadline
    assert not domain.overdue(notice, now=due)
    assert domain.needs_alert(notice, now=due + timedelta(seconds=1))
    claimed = notice.model_copy(update={"overdue_alerted_at": due})
    assert domain.overdue(claimed, now=due + timedelta(days=1))
    assert not domain.needs_alert(claimed, now=due + timedelta(days=1))
    fixed = domain.report_fixed(notice, note="done", by="safety1", now=due)
    assert not domain.overdue(fixed, now=due + timedelta(days=5))  # waits for the officer
