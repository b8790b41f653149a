"""The task's clock, pure: deadlines by risk (scaled), the escalation ladder its timers drive,
the overdue alert, and the repeat rule. The clock is injected."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.case_tracking import ladder, lifecycle
from services.case_tracking.deadlines import ACK_WINDOW, RESPONSE_TIME, Deadlines
from services.case_tracking.domain import Task, add_report, take_report
from shared.contracts.cases import Agency, Escalation, TaskStatus, TimerStep
from shared.contracts.school import ReportCategory, Severity
from tests.unit.case_tracking.test_domain import report

pytestmark = pytest.mark.unit

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
D = Deadlines()


def tasks(severity: Severity = Severity.critical, deadlines: Deadlines = D) -> list[Task]:
    intake = take_report(
        None,
        report(severity=severity),
        now=T0,
        new_case_id="case-1",
        new_task_ids=("task-p", "task-s"),
        deadlines=deadlines,
    )
    return intake.tasks


def test_the_ack_windows_are_the_issues_and_shrink_as_risk_rises() -> None:
    assert ACK_WINDOW[Severity.critical] == timedelta(minutes=5)
    assert ACK_WINDOW[Severity.high] == timedelta(minutes=30)
    assert ACK_WINDOW[Severity.medium] == timedelta(hours=4)
    assert ACK_WINDOW[Severity.low] == timedelta(hours=24)


@pytest.mark.parametrize("risk", list(Severity))
def test_a_new_task_gets_its_ack_supervisor_and_due_deadlines(risk: Severity) -> None:
    police, social = tasks(risk)
    for task in (police, social):
        assert task.ack_due_at == T0 + ACK_WINDOW[risk]
        assert task.escalate_at == T0 + 2 * ACK_WINDOW[risk]
        assert task.due_at == T0 + RESPONSE_TIME[task.agency][risk]


def test_the_scale_shrinks_every_deadline_alike() -> None:
    police, _ = tasks(deadlines=Deadlines(scale=0.001))
    assert police.ack_due_at == T0 + timedelta(seconds=0.3)
    assert police.escalate_at == T0 + timedelta(seconds=0.6)
    assert police.due_at == T0 + timedelta(seconds=1.8)


def test_an_open_task_has_three_timers_and_an_acknowledged_one_only_its_due_time() -> None:
    police, _ = tasks()
    assert police.ack_due_at
    assert police.escalate_at
    assert ladder.timers(police) == [
        (TimerStep.desk, police.ack_due_at),
        (TimerStep.supervisor, police.escalate_at),
        (TimerStep.overdue, police.due_at),
    ]
    case = take_report(None, report(), now=T0, new_case_id="c", new_task_ids=("a", "b")).case
    _, acked = lifecycle.acknowledge(case, police, by="officer-1", now=T0)
    assert ladder.timers(acked) == [(TimerStep.overdue, police.due_at)]


def test_only_the_earliest_timer_is_armed_and_each_rung_leads_to_the_next() -> None:
    police, _ = tasks()
    assert police.ack_due_at
    assert police.escalate_at
    assert ladder.next_timer(police) == (TimerStep.desk, police.ack_due_at)
    at_desk = ladder.fire(police, TimerStep.desk, police.ack_due_at)
    assert at_desk
    assert ladder.next_timer(at_desk) == (TimerStep.supervisor, police.escalate_at)
    at_supervisor = ladder.fire(at_desk, TimerStep.supervisor, police.escalate_at)
    assert at_supervisor
    assert ladder.next_timer(at_supervisor) == (TimerStep.overdue, police.due_at)
    alerted = ladder.fire(at_supervisor, TimerStep.overdue, police.due_at)
    assert alerted
    assert ladder.next_timer(alerted) is None
    # A due time before the ladder's rungs comes first.
    early = police.model_copy(update={"due_at": police.ack_due_at - timedelta(seconds=1)})
    assert ladder.next_timer(early) == (TimerStep.overdue, early.due_at)


def test_the_ladder_goes_to_the_desk_then_the_supervisor_once_each() -> None:
    police, _ = tasks()
    assert police.ack_due_at
    assert police.escalate_at
    desk = ladder.fire(police, TimerStep.desk, police.ack_due_at)
    assert desk is not None
    assert desk.escalation is Escalation.desk
    assert ladder.fire(desk, TimerStep.desk, police.ack_due_at) is None  # fired once
    boss = ladder.fire(desk, TimerStep.supervisor, police.escalate_at)
    assert boss is not None
    assert boss.escalation is Escalation.supervisor
    assert ladder.fire(boss, TimerStep.supervisor, police.escalate_at) is None
    assert ladder.fire(boss, TimerStep.desk, police.ack_due_at) is None  # never back down


@pytest.mark.parametrize(
    "status", [s for s in TaskStatus if s is not TaskStatus.open], ids=lambda s: s.value
)
def test_any_state_but_open_stops_the_ladder(status: TaskStatus) -> None:
    police, _ = tasks()
    assert police.ack_due_at
    assert police.escalate_at
    moved = police.model_copy(update={"status": status})
    assert ladder.fire(moved, TimerStep.desk, police.ack_due_at) is None
    assert ladder.fire(moved, TimerStep.supervisor, police.escalate_at) is None


def test_a_timer_for_a_moved_deadline_fires_into_nothing() -> None:
    police, _ = tasks()
    assert police.ack_due_at
    assert ladder.fire(police, TimerStep.desk, police.ack_due_at - timedelta(seconds=1)) is None


def test_overdue_alerts_once_while_unfinished() -> None:
    police, _ = tasks()
    alerted = ladder.fire(police, TimerStep.overdue, police.due_at)
    assert alerted is not None
    assert alerted.overdue_alerted
    assert ladder.fire(alerted, TimerStep.overdue, police.due_at) is None
    done = police.model_copy(update={"status": TaskStatus.done})
    assert ladder.fire(done, TimerStep.overdue, police.due_at) is None
    started = police.model_copy(update={"status": TaskStatus.in_progress})
    assert ladder.fire(started, TimerStep.overdue, police.due_at) is not None


# --- the repeat rule -------------------------------------------------------------------------


def test_a_repeat_report_of_higher_risk_raises_the_task_and_brings_its_deadlines_forward() -> None:
    police, _ = tasks(Severity.low)
    later = T0 + timedelta(minutes=10)
    raised, up = add_report(
        police, report_id="rep-2", risk=Severity.critical, deadlines=D, now=later
    )
    assert up
    assert raised.risk_level is Severity.critical
    assert raised.report_ids == ["rep-1", "rep-2"]
    assert raised.ack_due_at == later + ACK_WINDOW[Severity.critical]
    assert raised.escalate_at == later + 2 * ACK_WINDOW[Severity.critical]
    assert raised.due_at == later + RESPONSE_TIME[Agency.police][Severity.critical]


def test_a_repeat_report_of_equal_or_lower_risk_only_joins_the_history() -> None:
    police, _ = tasks(Severity.high)
    for risk in (Severity.high, Severity.low):
        joined, up = add_report(police, report_id="rep-2", risk=risk, deadlines=D, now=T0)
        assert not up
        assert joined.model_dump(exclude={"report_ids"}) == police.model_dump(
            exclude={"report_ids"}
        )
        assert joined.report_ids == ["rep-1", "rep-2"]


def test_a_deadline_never_moves_later() -> None:
    police, _ = tasks(Severity.medium)
    much_later = T0 + timedelta(days=3)  # the new deadlines would fall after the old ones
    raised, _ = add_report(
        police, report_id="rep-2", risk=Severity.high, deadlines=D, now=much_later
    )
    assert raised.due_at == police.due_at
    assert raised.ack_due_at == police.ack_due_at


def test_the_same_kind_joins_the_open_task_and_a_new_kind_starts_tasks() -> None:
    first = take_report(None, report(severity=Severity.medium), now=T0, new_case_id="c",
                        new_task_ids=("p1", "s1"))  # fmt: skip
    again = take_report(
        first.case,
        report("rep-2", severity=Severity.critical),
        now=T0,
        new_case_id="x",
        new_task_ids=("p2", "s2"),
        open_tasks=first.tasks,
    )
    assert again.tasks == []
    assert [(t.id, up) for t, up in again.joined] == [("p1", True), ("s1", True)]
    kinds = [e.kind for e in again.case.chronology]
    assert kinds.count("task_report_added") == 2
    other = take_report(
        first.case,
        report("rep-3", category=ReportCategory.bullying_perpetrator),
        now=T0,
        new_case_id="x",
        new_task_ids=("p3", "s3"),
        open_tasks=first.tasks,
    )
    assert [t.id for t in other.tasks] == ["p3", "s3"]
    assert other.joined == []


def test_a_finished_task_of_the_same_kind_does_not_take_the_report() -> None:
    first = take_report(None, report(), now=T0, new_case_id="c", new_task_ids=("p1", "s1"))
    done = [t.model_copy(update={"status": TaskStatus.done}) for t in first.tasks]
    again = take_report(first.case, report("rep-2"), now=T0, new_case_id="x",
                        new_task_ids=("p2", "s2"), open_tasks=done)  # fmt: skip
    assert [t.id for t in again.tasks] == ["p2", "s2"]
