"""A task's durable timers: armed in the store (shared/timers.py) with every change of its
clock, and what happens when one fires. Only the next timer is armed; each one that fires arms
the one after it. A timer that no longer applies (the task was acknowledged, finished, its
deadline moved) changes nothing: that is how acknowledging stops the ladder and closing a case
disarms its tasks' timers."""

from __future__ import annotations

from datetime import datetime

from services.case_tracking import ladder, store
from services.case_tracking.domain import Task
from shared.contracts.cases import (
    ChronologyEntry,
    TaskEscalated,
    TaskOverdue,
    TaskTimerDue,
    TimerStep,
)
from shared.events import Envelope, utcnow
from shared.runtime import UnitOfWork
from shared.timers import Timer

SOURCE = "case_tracking"


def arm(uow: UnitOfWork, task: Task) -> None:
    """(Re)arm the task's next timer; one schedule per task and step, so a moved deadline
    replaces its timer."""
    if (due := ladder.next_timer(task)) is not None:
        _schedule(uow, task, *due)


def _arm_after(uow: UnitOfWork, task: Task, timer: TaskTimerDue) -> None:
    """The timer that fired arms the task's next one (never itself again)."""
    due = ladder.next_timer(task)
    if due is not None and due != (timer.step, timer.at):
        _schedule(uow, task, *due)


def _schedule(uow: UnitOfWork, task: Task, step: TimerStep, at: datetime) -> None:
    envelope = Envelope.wrap(
        TaskTimerDue(task_id=task.id, step=step, at=at),
        source=SOURCE,
        subject=task.id,
        correlation_id=task.case_id,
    )
    # A step that fell due while its predecessor waited (a consumer that was down) is due at
    # once; the event keeps its own time, which is what `ladder.fire` matches.
    uow.schedule(Timer(envelope=envelope, key=f"task.{task.id}.{step.value}", at=at))


async def fired(uow: UnitOfWork, *, timer: TaskTimerDue, cause: Envelope) -> Task | None:
    """A timer fired: escalate or alert, once; None when it no longer applies."""
    task = await store.get_task(uow.tx, task_id=timer.task_id)
    if task is None:
        return None
    moved = ladder.fire(task, timer.step, timer.at)
    case = await store.get_case(uow.tx, case_id=moved.case_id) if moved else None
    if moved is None or case is None:
        _arm_after(uow, task, timer)
        return None
    now = utcnow()
    event: TaskEscalated | TaskOverdue
    if timer.step is TimerStep.overdue:
        event = TaskOverdue(
            task_id=moved.id,
            case_id=moved.case_id,
            title=moved.title,
            assignee_user_id=moved.assignee_user_id,
            assignee_org_id=moved.assignee_org_id,
            due_at=moved.due_at,
        )
        entry = ChronologyEntry(at=now, kind="task_overdue", text=f"{moved.title}: overdue")
    else:
        level, ack_due_at = moved.escalation, moved.ack_due_at
        if level is None or ack_due_at is None:  # fire() escalated: both are set
            return None
        event = TaskEscalated(
            task_id=moved.id,
            case_id=moved.case_id,
            title=moved.title,
            risk_level=moved.risk_level,
            level=level,
            ack_due_at=ack_due_at,
        )
        text = f"{moved.title}: not acknowledged in time, escalated to the {level.value}"
        entry = ChronologyEntry(at=now, kind="task_escalated", text=text)
    entry = entry.model_copy(update={"ref": moved.id})
    case = case.model_copy(update={"updated_at": now, "chronology": [*case.chronology, entry]})
    await store.put_task(uow.tx, task=moved)
    await store.save_case(uow.tx, case=case, opened=False)
    uow.emit(cause.follow(event, source=SOURCE, subject=moved.id))
    _arm_after(uow, moved, timer)
    return moved
