"""Pure rules of a task's life: open → acknowledged → in_progress → done; declined (back to
the desk, which reassigns it); cancelled. Each move is checked against the current state and
written into the case's chronology. Who may make a move is access.py's."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Case, Task
from shared.contracts.cases import ChronologyEntry, TaskStatus

S = TaskStatus


class Move(StrEnum):
    acknowledge = "acknowledge"
    start = "start"
    complete = "complete"
    decline = "decline"
    cancel = "cancel"
    reassign = "reassign"


# The states each move starts from.
FROM: dict[Move, frozenset[TaskStatus]] = {
    Move.acknowledge: frozenset({S.open}),
    Move.start: frozenset({S.acknowledged}),
    Move.complete: frozenset({S.in_progress}),
    Move.decline: frozenset({S.open, S.acknowledged, S.in_progress}),
    Move.cancel: frozenset({S.open, S.acknowledged, S.in_progress, S.declined}),
    Move.reassign: frozenset({S.open, S.acknowledged, S.in_progress, S.declined}),
}


class IllegalMove(Exception):
    def __init__(self, move: Move, status: TaskStatus) -> None:
        super().__init__(f"cannot {move.value} a task that is {status.value}")
        self.move = move
        self.status = status


def check(move: Move, task: Task) -> None:
    if task.status not in FROM[move]:
        raise IllegalMove(move, task.status)


def _noted(case: Case, *, kind: str, text: str, ref: str, now: datetime) -> Case:
    entry = ChronologyEntry(at=now, kind=kind, text=text, ref=ref)
    return case.model_copy(update={"updated_at": now, "chronology": [*case.chronology, entry]})


def acknowledge(case: Case, task: Task, *, by: str, now: datetime) -> tuple[Case, Task]:
    check(Move.acknowledge, task)
    task = task.model_copy(
        update={"status": S.acknowledged, "acknowledged_at": now, "acknowledged_by": by}
    )
    text = f"{task.title}: acknowledged by {by}"
    return _noted(case, kind="task_acknowledged", text=text, ref=task.id, now=now), task


def start(case: Case, task: Task, *, by: str, now: datetime) -> tuple[Case, Task]:
    check(Move.start, task)
    task = task.model_copy(update={"status": S.in_progress, "started_at": now})
    text = f"{task.title}: work started by {by}"
    return _noted(case, kind="task_started", text=text, ref=task.id, now=now), task


def complete(case: Case, task: Task, *, by: str, sealed: str, now: datetime) -> tuple[Case, Task]:
    """`sealed`: the outcome note, already sealed; the chronology says only that there is one."""
    check(Move.complete, task)
    task = task.model_copy(
        update={"status": S.done, "finished_at": now, "finished_by": by, "outcome_sealed": sealed}
    )
    text = f"{task.title}: done by {by} (outcome recorded)"
    return _noted(case, kind="task_done", text=text, ref=task.id, now=now), task


def decline(case: Case, task: Task, *, by: str, reason: str, now: datetime) -> tuple[Case, Task]:
    check(Move.decline, task)
    task = task.model_copy(
        update={"status": S.declined, "finished_at": now, "finished_by": by, "reason": reason}
    )
    text = f"{task.title}: declined by {by}, back to the desk: {reason}"
    return _noted(case, kind="task_declined", text=text, ref=task.id, now=now), task


def cancel(case: Case, task: Task, *, by: str, reason: str, now: datetime) -> tuple[Case, Task]:
    check(Move.cancel, task)
    task = task.model_copy(
        update={"status": S.cancelled, "finished_at": now, "finished_by": by, "reason": reason}
    )
    text = f"{task.title}: cancelled by {by}: {reason}"
    return _noted(case, kind="task_cancelled", text=text, ref=task.id, now=now), task


def reassign(
    case: Case,
    task: Task,
    *,
    by: str,
    user_id: str | None,
    org_id: str | None,
    reason: str | None,
    deadlines: Deadlines,
    now: datetime,
) -> tuple[Case, Task]:
    """To a new assignee, who starts afresh: the task is open again with a new acknowledgement
    window and ladder; the due time stays. A new organisation joins the case (to see it)."""
    check(Move.reassign, task)
    clock = deadlines.clock(task.agency, task.risk_level, start=now)
    task = task.model_copy(
        update={
            "assignee_user_id": user_id,
            "assignee_org_id": org_id,
            "status": S.open,
            "acknowledged_at": None,
            "acknowledged_by": None,
            "started_at": None,
            "finished_at": None,
            "finished_by": None,
            "reason": None,
            "ack_due_at": clock.ack_due_at,
            "escalate_at": clock.escalate_at,
            "escalation": None,
        }
    )
    if org_id and org_id not in case.org_ids:
        case = case.model_copy(update={"org_ids": [*case.org_ids, org_id]})
    if user_id and user_id not in case.officer_ids:
        case = case.model_copy(update={"officer_ids": [*case.officer_ids, user_id]})
    text = f"{task.title}: reassigned by {by} to {user_id or org_id}" + (
        f": {reason}" if reason else ""
    )
    return _noted(case, kind="task_reassigned", text=text, ref=task.id, now=now), task
