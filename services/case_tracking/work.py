"""case_tracking's use cases for a task's life after it was created: the assignee starts,
completes (with a sealed outcome note) or declines it; the desk cancels or reassigns it; casework
reads it with its outcome. Each move is read, checked and written in one transaction.

Refusals: a task the caller may not see is 404 (as if it did not exist), a visible task the
caller may not move is 403, an illegal move 409 naming the current state (events.legal).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from services.case_tracking import access, events, lifecycle, store, timers
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Case, Task
from services.case_tracking.notes import NoteSealer
from shared.contracts.cases import (
    Agency,
    Reassignment,
    TaskCompleted,
    TaskReassigned,
    TaskStarted,
)
from shared.events import EventData, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Reader
from shared.usecases import InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "case_tracking"
Moved = tuple[Case, Task, EventData]
Step = Callable[[UnitOfWork, Case, Task, datetime], Awaitable[Moved]]


async def _visible(port: Reader, *, caller: Principal, task_id: str) -> tuple[Case, Task]:
    task = await store.get_task(port, task_id=task_id)
    case = await store.get_case(port, case_id=task.case_id) if task else None
    if task is None or case is None or not access.may_see_case(caller, case):
        raise NotFound("task not found")
    if access.feedback_only(caller):
        raise NotFound("task not found")  # schools follow a task through its case's feedback
    return case, task


async def _move(rt: Transactor, *, caller: Principal, task_id: str, desk: bool, step: Step) -> Task:
    async def work(uow: UnitOfWork) -> Task:
        case, task = await _visible(uow.tx, caller=caller, task_id=task_id)
        if desk and not access.may_dispatch(caller):
            raise NotAllowed("only the desk may do this")
        if not desk and not access.may_acknowledge(caller, task):
            raise NotAllowed("only the task's assignee may do this")
        with events.legal():
            case, task, event = await step(uow, case, task, utcnow())
        await store.put_task(uow.tx, task=task)
        await store.save_case(uow.tx, case=case, opened=False)
        uow.announce(event, source=SOURCE, subject=task.id, correlation_id=task.case_id)
        return task

    return await rt.transact(work)


async def start_task(rt: Transactor, *, caller: Principal, task_id: str) -> Task:
    async def step(_uow: UnitOfWork, case: Case, task: Task, now: datetime) -> Moved:
        case, task = lifecycle.start(case, task, by=caller.user_id, now=now)
        started = TaskStarted(
            task_id=task.id, case_id=task.case_id, started_by=caller.user_id, started_at=now
        )
        return case, task, started

    return await _move(rt, caller=caller, task_id=task_id, desk=False, step=step)


async def complete_task(
    rt: Transactor, *, caller: Principal, task_id: str, outcome: str, notes: NoteSealer
) -> Task:
    """Done, with its outcome note sealed under the case's key (never in the event)."""

    async def step(uow: UnitOfWork, case: Case, task: Task, now: datetime) -> Moved:
        lifecycle.check(lifecycle.Move.complete, task)  # before a case key is made for nothing
        sealed = await notes.seal(uow.tx, case=case, record_id=task.id, text=outcome, now=now)
        case, task = lifecycle.complete(case, task, by=caller.user_id, sealed=sealed, now=now)
        done = TaskCompleted(
            task_id=task.id, case_id=task.case_id, completed_by=caller.user_id, completed_at=now
        )
        return case, task, done

    return await _move(rt, caller=caller, task_id=task_id, desk=False, step=step)


async def decline_task(rt: Transactor, *, caller: Principal, task_id: str, reason: str) -> Task:
    """Given back to the desk, which reassigns it."""

    async def step(_uow: UnitOfWork, case: Case, task: Task, now: datetime) -> Moved:
        case, task = lifecycle.decline(case, task, by=caller.user_id, reason=reason, now=now)
        return case, task, events.declined(task, by=caller.user_id, now=now)

    return await _move(rt, caller=caller, task_id=task_id, desk=False, step=step)


async def cancel_task(rt: Transactor, *, caller: Principal, task_id: str, reason: str) -> Task:
    async def step(_uow: UnitOfWork, case: Case, task: Task, now: datetime) -> Moved:
        case, task = lifecycle.cancel(case, task, by=caller.user_id, reason=reason, now=now)
        return case, task, events.cancelled(task, by=caller.user_id, now=now)

    return await _move(rt, caller=caller, task_id=task_id, desk=True, step=step)


def _check_assignee(task: Task, body: Reassignment) -> None:
    """A police task goes to an officer whose beat covers its school; a social-work task to an
    organisation. 422 naming the field otherwise."""
    if task.agency is Agency.police:
        if body.assignee_org_id is not None:
            raise InvalidField("body", "assignee_org_id", "a police task goes to an officer")
        if body.assignee_user_id is None:
            raise InvalidField("body", "assignee_user_id", "required for a police task")
        if task.school_id not in body.assignee_school_ids:
            raise InvalidField(
                "body", "assignee_user_id", f"the officer's beat does not cover {task.school_id}"
            )
    else:
        if body.assignee_user_id is not None:
            raise InvalidField("body", "assignee_user_id", "a social-work task goes to an org")
        if body.assignee_org_id is None:
            raise InvalidField("body", "assignee_org_id", "required for a social-work task")


async def reassign_task(
    rt: Transactor, *, caller: Principal, task_id: str, body: Reassignment, deadlines: Deadlines
) -> Task:
    """To another officer or organisation: the task is open again with a fresh ladder."""

    async def step(uow: UnitOfWork, case: Case, task: Task, now: datetime) -> Moved:
        _check_assignee(task, body)
        before = task
        case, task = lifecycle.reassign(
            case,
            task,
            by=caller.user_id,
            user_id=body.assignee_user_id,
            org_id=body.assignee_org_id,
            reason=body.reason,
            deadlines=deadlines,
            now=now,
        )
        timers.arm(uow, task)
        moved = TaskReassigned(
            task_id=task.id,
            case_id=task.case_id,
            title=task.title,
            risk_level=task.risk_level,
            by=caller.user_id,
            previous_user_id=before.assignee_user_id,
            previous_org_id=before.assignee_org_id,
            assignee_user_id=task.assignee_user_id,
            assignee_org_id=task.assignee_org_id,
            ack_due_at=task.ack_due_at or now,
            due_at=task.due_at,
        )
        return case, task, moved

    return await _move(rt, caller=caller, task_id=task_id, desk=True, step=step)


async def read_task(
    port: Reader, *, caller: Principal, task_id: str, notes: NoteSealer
) -> tuple[Task, str | None]:
    """The task and its outcome note, for those who may read the case's details."""
    _case, task = await _visible(port, caller=caller, task_id=task_id)
    if not access.may_read_details(caller):
        raise NotFound("task not found")
    return task, await notes.open(port, task=task)
