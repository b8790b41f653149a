"""case_tracking's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response

from services.case_tracking import access, monitoring, outcomes, service, views, work
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.domain import Task
from services.case_tracking.ledger import LedgerEntry
from services.case_tracking.notes import NoteSealer
from shared.contracts.cases import (
    CHRONOLOGY_PAGE,
    CaseClose,
    CaseFeedbackView,
    CaseView,
    ChronologyEntryView,
    DispositionCounts,
    DispositionRecord,
    DispositionView,
    FollowUpRecord,
    LedgerEntryView,
    MonitoringStart,
    Reassignment,
    RiskReview,
    TaskDetailView,
    TaskDone,
    TaskFeedbackView,
    TaskReason,
    TaskStatus,
    TaskView,
)
from shared.paging import AfterParam, page_response, parse_after
from shared.store import Cursor
from shared.usecases import NotAllowed
from shared.web import CallerDep, RuntimeDep

router = APIRouter()


@router.get("/cases/{case_id}", response_model=CaseView | CaseFeedbackView)
async def get_case(case_id: str, caller: CallerDep, rt: RuntimeDep) -> CaseView | CaseFeedbackView:
    case, tasks, more = await service.read_case(rt.store, caller=caller, case_id=case_id)
    return views.case_view(caller, case, tasks, _encoded(more))


@router.get("/cases/{case_id}/chronology", response_model=list[ChronologyEntryView])
async def read_chronology(
    case_id: str,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = CHRONOLOGY_PAGE,
    after: AfterParam = None,
) -> Response:
    case, entries, cursor = await service.read_chronology(
        rt.store, caller=caller, case_id=case_id, limit=limit, after=parse_after(after)
    )
    return page_response(request, views.chronology_view(case, entries), cursor)


@router.post("/cases/{case_id}/close", response_model=CaseView)
async def close_case(case_id: str, body: CaseClose, caller: CallerDep, rt: RuntimeDep) -> CaseView:
    case, more = await service.close_case(rt, caller=caller, case_id=case_id, reason=body.reason)
    return views.full_view(case, _encoded(more))


@router.get("/tasks", response_model=list[TaskView | TaskFeedbackView])
async def list_tasks(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    case_id: Annotated[str | None, Query(max_length=80)] = None,
    status: TaskStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 200,
    after: AfterParam = None,
) -> Response:
    tasks, cursor = await service.list_tasks(
        rt.store,
        caller=caller,
        case_id=case_id,
        status=status,
        limit=limit,
        after=parse_after(after),
    )
    return page_response(request, [views.task_view(caller, t) for t in tasks], cursor)


@router.post("/tasks/{task_id}/ack", response_model=TaskView)
async def acknowledge_task(task_id: str, caller: CallerDep, rt: RuntimeDep) -> TaskView:
    task = await service.acknowledge_task(rt, caller=caller, task_id=task_id)
    return TaskView.model_validate(task.model_dump())


async def _notes(request: Request) -> NoteSealer:
    notes: NoteSealer = request.app.state.notes
    return notes


async def _deadlines(request: Request) -> Deadlines:
    deadlines: Deadlines = request.app.state.deadlines
    return deadlines


NotesDep = Annotated[NoteSealer, Depends(_notes)]
DeadlinesDep = Annotated[Deadlines, Depends(_deadlines)]


def _view(task: Task) -> TaskView:
    return TaskView.model_validate(task.model_dump())


@router.get("/tasks/{task_id}", response_model=TaskDetailView)
async def read_task(
    task_id: str, caller: CallerDep, rt: RuntimeDep, notes: NotesDep
) -> TaskDetailView:
    task, outcome = await work.read_task(rt.store, caller=caller, task_id=task_id, notes=notes)
    return TaskDetailView.model_validate({**task.model_dump(), "outcome": outcome})


@router.post("/tasks/{task_id}/start", response_model=TaskView)
async def start_task(task_id: str, caller: CallerDep, rt: RuntimeDep) -> TaskView:
    return _view(await work.start_task(rt, caller=caller, task_id=task_id))


@router.post("/tasks/{task_id}/done", response_model=TaskView)
async def complete_task(
    task_id: str, body: TaskDone, caller: CallerDep, rt: RuntimeDep, notes: NotesDep
) -> TaskView:
    task = await work.complete_task(
        rt, caller=caller, task_id=task_id, outcome=body.outcome, notes=notes
    )
    return _view(task)


@router.post("/tasks/{task_id}/decline", response_model=TaskView)
async def decline_task(
    task_id: str, body: TaskReason, caller: CallerDep, rt: RuntimeDep
) -> TaskView:
    return _view(await work.decline_task(rt, caller=caller, task_id=task_id, reason=body.reason))


@router.post("/tasks/{task_id}/cancel", response_model=TaskView)
async def cancel_task(
    task_id: str, body: TaskReason, caller: CallerDep, rt: RuntimeDep
) -> TaskView:
    return _view(await work.cancel_task(rt, caller=caller, task_id=task_id, reason=body.reason))


@router.post("/tasks/{task_id}/reassign", response_model=TaskView)
async def reassign_task(
    task_id: str, body: Reassignment, caller: CallerDep, rt: RuntimeDep, deadlines: DeadlinesDep
) -> TaskView:
    task = await work.reassign_task(
        rt, caller=caller, task_id=task_id, body=body, deadlines=deadlines
    )
    return _view(task)


def _entry(entry: LedgerEntry) -> LedgerEntryView:
    last = entry.follow_ups[-1] if entry.follow_ups else None
    return LedgerEntryView(
        **entry.model_dump(include=set(LedgerEntryView.model_fields) - {"follow_ups"}),
        follow_ups=len(entry.follow_ups),
        last_follow_up_at=last.at if last else None,
        last_contact_type=last.contact_type if last else None,
    )


@router.post("/cases/{case_id}/monitoring", response_model=LedgerEntryView)
async def start_monitoring(
    case_id: str, body: MonitoringStart, caller: CallerDep, rt: RuntimeDep, deadlines: DeadlinesDep
) -> LedgerEntryView:
    entry = await monitoring.start_monitoring(
        rt, caller=caller, case_id=case_id, body=body, deadlines=deadlines
    )
    return _entry(entry)


@router.post("/cases/{case_id}/follow-ups", response_model=LedgerEntryView)
async def record_follow_up(
    case_id: str,
    body: FollowUpRecord,
    caller: CallerDep,
    rt: RuntimeDep,
    notes: NotesDep,
    deadlines: DeadlinesDep,
) -> LedgerEntryView:
    entry = await monitoring.record_follow_up(
        rt, caller=caller, case_id=case_id, body=body, notes=notes, deadlines=deadlines
    )
    return _entry(entry)


@router.get("/ledger", response_model=list[LedgerEntryView])
async def list_ledger(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    after: AfterParam = None,
) -> Response:
    entries, cursor = await monitoring.list_ledger(
        rt.store, caller=caller, limit=limit, after=parse_after(after)
    )
    return page_response(request, [_entry(e) for e in entries], cursor)


@router.post("/cases/{case_id}/dispositions", response_model=DispositionView, status_code=201)
async def record_disposition(
    case_id: str, body: DispositionRecord, caller: CallerDep, rt: RuntimeDep, notes: NotesDep
) -> DispositionView:
    disposition = await outcomes.record_disposition(
        rt, caller=caller, case_id=case_id, body=body, notes=notes
    )
    return DispositionView.model_validate(disposition.model_dump())


@router.get("/dispositions/counts", response_model=DispositionCounts)
async def count_dispositions(caller: CallerDep, rt: RuntimeDep) -> DispositionCounts:
    if caller.role not in access.DESK:
        raise NotAllowed("station figures are the desk's")
    return DispositionCounts(counts=await outcomes.count_dispositions(rt.store))


@router.post("/cases/{case_id}/risk", response_model=CaseView)
async def review_risk(
    case_id: str, body: RiskReview, caller: CallerDep, rt: RuntimeDep
) -> CaseView:
    await outcomes.review_risk(rt, caller=caller, case_id=case_id, body=body)
    case, _, more = await service.read_case(rt.store, caller=caller, case_id=case_id)
    return views.full_view(case, _encoded(more))


def _encoded(cursor: Cursor | None) -> str | None:
    return cursor.encode() if cursor is not None else None
