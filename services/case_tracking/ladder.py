"""Pure rules of a task's clock: its deadlines, the escalation ladder and the overdue alert its
timers drive, and how a repeat report makes an open task more urgent. The clock is injected.

The ladder: not acknowledged by `ack_due_at` → the duty desk is told; still not by
`escalate_at` → the supervisor. Past `due_at` and not done → the assignee and the desk.
"""

from __future__ import annotations

from datetime import datetime

from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Task
from shared.contracts.cases import Escalation, TaskStatus, TimerStep

OPEN = frozenset({TaskStatus.open, TaskStatus.acknowledged, TaskStatus.in_progress})


def timers(task: Task) -> list[tuple[TimerStep, datetime]]:
    """The timers a task needs now: the ladder while it waits for acknowledgement, the due time
    while it is open."""
    due: list[tuple[TimerStep, datetime]] = []
    if task.status is TaskStatus.open and task.ack_due_at and task.escalate_at:
        if task.escalation is None:
            due.append((TimerStep.desk, task.ack_due_at))
        if task.escalation is not Escalation.supervisor:
            due.append((TimerStep.supervisor, task.escalate_at))
    if task.status in OPEN and not task.overdue_alerted:
        due.append((TimerStep.overdue, task.due_at))
    return due


def next_timer(task: Task) -> tuple[TimerStep, datetime] | None:
    """The one timer to arm now: the earliest the task needs. Each timer, when it fires
    (applying or not), arms the next, so a task costs one schedule at a time, not three."""
    return min(timers(task), key=lambda timer: timer[1], default=None)


def fire(task: Task, step: TimerStep, at: datetime) -> Task | None:
    """The task after its `step` timer (set for `at`) fired, or None when the timer no longer
    applies: acknowledged, finished, moved (a newer deadline), or already fired."""
    if step is TimerStep.overdue:
        if task.status not in OPEN or task.overdue_alerted or at != task.due_at:
            return None
        return task.model_copy(update={"overdue_alerted": True})
    if task.status is not TaskStatus.open:
        return None  # acknowledging stops the ladder; a declined task is the desk's already
    if step is TimerStep.desk and task.escalation is None and at == task.ack_due_at:
        return task.model_copy(update={"escalation": Escalation.desk})
    if (
        step is TimerStep.supervisor
        and task.escalation is not Escalation.supervisor
        and at == task.escalate_at
    ):
        return task.model_copy(update={"escalation": Escalation.supervisor})
    return None


def restart(task: Task, deadlines: Deadlines, *, now: datetime) -> Task:
    """A task handed to a new assignee: a fresh acknowledgement window and ladder."""
    clock = deadlines.clock(task.agency, task.risk_level, start=now)
    return task.model_copy(
        update={
            "ack_due_at": clock.ack_due_at,
            "escalate_at": clock.escalate_at,
            "escalation": None,
        }
    )
