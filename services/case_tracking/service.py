"""case_tracking's use cases: a filed report joins its child's case and starts two tasks; cases
and tasks read as the caller may see them; a supervisor closes a case; an assignee acknowledges a
task.

The calling convention and the refusals are shared/usecases.py's.
"""

from __future__ import annotations

from services.case_tracking import access, domain, events, lifecycle, store, timers
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Case, Intake, Task
from shared.contracts.cases import (
    CHRONOLOGY_PAGE,
    CaseClosed,
    CaseIdentityFlagged,
    CaseOpened,
    CaseStatus,
    CaseUpdated,
    ChronologyEntry,
    IntakeRecorded,
    ReportLinked,
    TaskAcknowledged,
    TaskCreated,
    TaskReportAdded,
    TaskStatus,
)
from shared.contracts.school import ReportFiled
from shared.events import Envelope, new_id, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, NotAllowed, NotFound, Transactor

SOURCE = "case_tracking"
# Tasks of one case the feedback view lists: two per report, far fewer than this.
CASE_TASKS_LIMIT = 500
CLOSED = "case closed"


async def take_report(
    uow: UnitOfWork,
    *,
    report: ReportFiled,
    cause: Envelope,
    deadlines: Deadlines | None = None,
) -> Intake:
    """The report joins its child's open case or opens one; the case's events follow `cause`.
    Two reports racing to open a case for one child: the second insert fails on the unique
    index, and the redelivered report then joins the case the first one opened. New tasks
    and tasks a repeat report made more urgent get their timers armed."""
    existing = await store.open_case_for_child(uow.tx, child_ref=report.child_ref)
    unfinished = await store.unfinished_tasks(uow.tx, case_id=existing.id) if existing else []
    intake = domain.take_report(
        existing,
        report,
        now=utcnow(),
        new_case_id="case-" + new_id(),
        new_task_ids=("task-" + new_id(), "task-" + new_id()),
        deadlines=deadlines,
        open_tasks=sorted(unfinished, key=lambda t: t.created_at),
    )
    await store.save_case(uow.tx, case=intake.case, opened=intake.opened)
    for task in intake.tasks:
        await store.insert_task(uow.tx, task=task)
        timers.arm(uow, task)
    for task, raised in intake.joined:
        await store.put_task(uow.tx, task=task)
        if raised:
            timers.arm(uow, task)
    # One message for the intake's events: a report costs one publish and one delivery per
    # consumer instead of four or more (shared/carried.py unpacks it for every reader).
    carried = IntakeRecorded(events=_intake_events(intake, report=report, cause=cause))
    uow.emit(cause.follow(carried, source=SOURCE, subject=intake.case.id))
    return intake


def _intake_events(intake: Intake, *, report: ReportFiled, cause: Envelope) -> list[Envelope]:
    case = intake.case

    def follow(
        data: CaseOpened
        | CaseUpdated
        | ReportLinked
        | TaskCreated
        | TaskReportAdded
        | CaseIdentityFlagged,
        subject: str,
    ) -> Envelope:
        return cause.follow(data, source=SOURCE, subject=subject)

    if intake.opened:
        opened = CaseOpened(
            case_id=case.id,
            child_ref=case.child_ref,
            school_id=report.school_id,
            risk_level=case.risk_level,
            social_org_id=report.social_org_id,
        )
        events = [follow(opened, case.id)]
    else:
        updated = CaseUpdated(
            case_id=case.id,
            report_id=report.report_id,
            risk_level=case.risk_level,
            school_id=report.school_id,
            social_org_id=report.social_org_id,
        )
        events = [follow(updated, case.id)]
    events.append(
        follow(ReportLinked(report_id=report.report_id, case_id=case.id), report.report_id)
    )
    for task in intake.tasks:
        created = TaskCreated.model_validate(
            task.model_dump(include=set(TaskCreated.model_fields) - {"task_id"})
            | {"task_id": task.id}
        )
        events.append(follow(created, task.id))
    for task, raised in intake.joined:
        added = TaskReportAdded(
            task_id=task.id,
            case_id=case.id,
            report_id=report.report_id,
            title=task.title,
            risk_level=task.risk_level,
            assignee_user_id=task.assignee_user_id,
            assignee_org_id=task.assignee_org_id,
            ack_due_at=task.ack_due_at,
            due_at=task.due_at,
            raised=raised,
        )
        events.append(follow(added, task.id))
    if intake.identity_flagged:
        flagged = CaseIdentityFlagged(
            case_id=case.id, report_id=report.report_id, school_id=report.school_id
        )
        events.append(follow(flagged, case.id))
    return events


async def visible_case(port: Reader, *, caller: Principal, case_id: str) -> Case:
    """The case, if the caller may see it; else NotFound (whether it exists is not theirs to
    learn)."""
    case = await store.get_case(port, case_id=case_id)
    if case is None or not access.may_see_case(caller, case):
        raise NotFound("case not found")
    return case


async def read_case(
    port: Reader, *, caller: Principal, case_id: str
) -> tuple[Case, list[Task], Cursor | None]:
    """The case and, for callers who get the feedback view, the tasks it lists (else none);
    for the others, with its chronology's first page and the cursor of the next (None: the
    chronology is whole)."""
    case = await visible_case(port, caller=caller, case_id=case_id)
    if not access.feedback_only(caller):
        case, more = await store.with_chronology(port, case=case, limit=CHRONOLOGY_PAGE)
        return case, [], more
    scope = access.task_scope(caller)
    tasks, _ = await store.case_tasks(port, case_id=case.id, where=scope, limit=CASE_TASKS_LIMIT)
    return case, tasks, None


async def read_chronology(
    port: Reader, *, caller: Principal, case_id: str, limit: int, after: Cursor | None = None
) -> tuple[Case, list[ChronologyEntry], Cursor | None]:
    """A page of the case's chronology, oldest first, and the next page's cursor: for those
    who get the case's full view. School staff see the case as feedback only: NotAllowed."""
    case = await visible_case(port, caller=caller, case_id=case_id)
    if access.feedback_only(caller):
        raise NotAllowed("the chronology is casework's; schools get the case's feedback")
    entries, more = await store.chronology_page(port, case_id=case.id, limit=limit, after=after)
    return case, entries, more


async def list_tasks(
    port: Reader,
    *,
    caller: Principal,
    case_id: str | None,
    status: TaskStatus | None,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[Task], Cursor | None]:
    """A visible case's tasks (within the caller's scope), or else the caller's own; a page,
    and the cursor of the next one."""
    wanted = {"status": status.value} if status is not None else {}
    if case_id is not None:
        await visible_case(port, caller=caller, case_id=case_id)
        where = {**access.task_scope(caller), **wanted}
        return await store.case_tasks(port, case_id=case_id, where=where, limit=limit, after=after)
    mine = access.task_filter(caller)
    if mine is None:
        return [], None
    return await store.find_tasks(port, where={**mine, **wanted}, limit=limit, after=after)


async def close_case(
    rt: Transactor, *, caller: Principal, case_id: str, reason: str
) -> tuple[Case, Cursor | None]:
    """Closes the case and announces it (retention starts counting; a new report for the child
    opens a new case); the closed case, with its chronology's first page, and the cursor of
    the next. AlreadyClosed if it is closed already."""

    async def work(uow: UnitOfWork) -> Case:
        # Read, checked and written in one transaction, so two closings cannot both apply.
        case = await visible_case(uow.tx, caller=caller, case_id=case_id)
        if not access.may_close(caller):
            raise NotAllowed("only a supervisor may close a case")
        if case.status is CaseStatus.closed:
            raise Conflict("case is already closed")
        now = utcnow()
        # Its unfinished tasks are cancelled first: the chronology ends with the closing.
        for task in await store.unfinished_tasks(uow.tx, case_id=case.id):
            case, task = lifecycle.cancel(case, task, by=caller.user_id, reason=CLOSED, now=now)
            await store.put_task(uow.tx, task=task)
            uow.announce(
                events.cancelled(task, by=caller.user_id, now=now),
                source=SOURCE,
                subject=task.id,
                correlation_id=case.id,
            )
        case = domain.close_case(case, by=caller.user_id, reason=reason, now=now)
        entry = await store.get_ledger_entry(uow.tx, case_id=case.id)
        if entry is not None:  # no more follow-ups due: its timer fires into nothing
            await store.put_ledger_entry(uow.tx, entry=entry.model_copy(update={"active": False}))
        await store.save_case(uow.tx, case=case, opened=False)
        closed = CaseClosed(case_id=case.id, child_ref=case.child_ref, closed_at=now)
        uow.announce(closed, source=SOURCE, subject=case.id, correlation_id=case.id)
        return case

    # Read once committed: the closing's transaction does not read the chronology.
    closed = await rt.transact(work)
    return await store.with_chronology(rt.store, case=closed, limit=CHRONOLOGY_PAGE)


async def acknowledge_task(rt: Transactor, *, caller: Principal, task_id: str) -> Task:
    """The assignee takes the task up; acknowledging it again changes nothing."""

    async def work(uow: UnitOfWork) -> Task:
        # Read, checked and written in one transaction, so two acknowledgements cannot both
        # apply.
        task = await store.get_task(uow.tx, task_id=task_id)
        case = await store.get_case(uow.tx, case_id=task.case_id) if task else None
        if task is None or case is None or not access.may_see_case(caller, case):
            raise NotFound("task not found")
        if not access.may_acknowledge(caller, task):
            raise NotAllowed("only the task's assignee may acknowledge it")
        if task.status is TaskStatus.acknowledged:
            return task  # a retried acknowledgement
        now = utcnow()
        with events.legal():
            case, task = lifecycle.acknowledge(case, task, by=caller.user_id, now=now)
        await store.put_task(uow.tx, task=task)
        await store.save_case(uow.tx, case=case, opened=False)
        event = TaskAcknowledged(
            task_id=task.id,
            case_id=task.case_id,
            acknowledged_by=caller.user_id,
            acknowledged_at=now,
        )
        uow.announce(event, source=SOURCE, subject=task.id, correlation_id=task.case_id)
        return task

    return await rt.transact(work)
