"""case_tracking's use cases on a real SQLite store: what each stores, announces and refuses."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from services.case_tracking import service
from services.case_tracking.domain import Case, Intake
from services.case_tracking.store import (
    MIGRATIONS,
    chronology_page,
    get_case,
    get_task,
    with_chronology,
)
from shared.carried import unpacked
from shared.contracts.cases import (
    CHRONOLOGY_PAGE,
    CaseClosed,
    CaseOpened,
    CaseStatus,
    IntakeRecorded,
    ReportLinked,
    TaskAcknowledged,
    TaskCancelled,
    TaskCreated,
    TaskStatus,
)
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.events import Envelope
from shared.identity import Principal, Role
from shared.store import Reader
from shared.usecases import Conflict, NotAllowed, NotFound
from tests.unit.case_tracking.test_domain import report
from tests.unit.units import StoreUnits, sqlite_port

OFFICER = Principal(user_id="officer-1", role=Role.police_officer, school_ids=("school-1",))
OTHER_OFFICER = Principal(user_id="officer-9", role=Role.police_officer, school_ids=("school-1",))
FAR_OFFICER = Principal(user_id="officer-7", role=Role.police_officer, school_ids=("school-7",))
SOCIAL = Principal(user_id="w1", role=Role.social_worker, org_id="org-1")
SUPERVISOR = Principal(user_id="sup", role=Role.supervisor)
DISPATCHER = Principal(user_id="desk", role=Role.dispatcher)
TEACHER_1 = Principal(user_id="t1", role=Role.teacher, school_id="school-1")
TEACHER_2 = Principal(user_id="t2", role=Role.teacher, school_id="school-2")


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[StoreUnits]:
    port = await sqlite_port(tmp_path, component="case_tracking", migrations=MIGRATIONS)
    yield StoreUnits(port)
    await port.close()


def announced(rt: StoreUnits) -> list[Envelope]:
    """The events announced so far, in order, those a carrier holds unpacked."""
    return [e for message in rt.events for e in unpacked(message)]


def types(rt: StoreUnits) -> list[str]:
    return [e.type for e in announced(rt)]


def filed(r: ReportFiled) -> Envelope:
    return Envelope.wrap(
        r, source="school_liaison", subject=r.report_id, correlation_id=r.report_id
    )


async def whole_case(port: Reader, case_id: str) -> Case | None:
    """The case as stored, with its whole chronology (`get_case` reads it for a change): the
    first page and every page after it."""
    case = await get_case(port, case_id=case_id)
    if case is None:
        return None
    case, after = await with_chronology(port, case=case, limit=CHRONOLOGY_PAGE)
    while after is not None:
        more, after = await chronology_page(
            port, case_id=case_id, limit=CHRONOLOGY_PAGE, after=after
        )
        case.chronology += more
    return case


async def take(rt: StoreUnits, r: ReportFiled) -> Intake:
    cause = filed(r)
    return await rt.transact(lambda uow: service.take_report(uow, report=r, cause=cause))


async def test_a_first_report_opens_a_case_stores_two_tasks_and_announces_them(
    rt: StoreUnits,
) -> None:
    r = report()
    cause = filed(r)
    intake = await rt.transact(lambda uow: service.take_report(uow, report=r, cause=cause))
    assert intake.opened
    stored = await whole_case(rt.store, intake.case.id)
    assert stored == intake.case
    for task in intake.tasks:
        assert await get_task(rt.store, task_id=task.id) == task
    # One message, carrying the intake's four events.
    assert [e.type for e in rt.events] == [IntakeRecorded.TYPE]
    assert types(rt) == [
        CaseOpened.TYPE,
        ReportLinked.TYPE,
        TaskCreated.TYPE,
        TaskCreated.TYPE,
    ]
    # Each event, and their carrier, follows the report: its correlation, caused by the
    # ReportFiled envelope.
    assert {(e.correlation_id, e.causation_id, e.source) for e in [*rt.events, *announced(rt)]} == {
        (cause.correlation_id, cause.id, "case_tracking")
    }
    assert len({e.id for e in [*rt.events, *announced(rt)]}) == 5
    created = [e.parse(TaskCreated) for e in announced(rt) if e.type == TaskCreated.TYPE]
    assert [c.task_id for c in created] == [t.id for t in intake.tasks]


async def test_a_second_report_joins_the_open_case_and_flags_a_differing_identity(
    rt: StoreUnits,
) -> None:
    first = await take(rt, report())
    rt.events.clear()
    # Another kind of need (the repeat rule would merge a second self-harm report).
    second = await take(
        rt,
        report(
            "rep-2",
            school_id="school-2",
            identity_mismatch=True,
            category=ReportCategory.bullying_victim,
        ),
    )
    assert not second.opened
    assert second.case.id == first.case.id
    assert types(rt) == [
        "case.updated",
        ReportLinked.TYPE,
        TaskCreated.TYPE,
        TaskCreated.TYPE,
        "case.identity.flagged",
    ]
    stored = await get_case(rt.store, case_id=first.case.id)
    assert stored is not None
    assert stored.identity_review
    assert stored.report_ids == ["rep-1", "rep-2"]


async def test_school_staff_read_a_case_with_their_own_schools_tasks_only(
    rt: StoreUnits,
) -> None:
    one = await take(rt, report())
    await take(rt, report("rep-2", school_id="school-2", category=ReportCategory.bullying_victim))
    case, tasks, more = await service.read_case(rt.store, caller=TEACHER_2, case_id=one.case.id)
    assert case.id == one.case.id
    assert {t.school_id for t in tasks} == {"school-2"}
    assert len(tasks) == 2
    assert more is None  # the feedback view has no chronology
    _, agency_tasks, _ = await service.read_case(rt.store, caller=OFFICER, case_id=one.case.id)
    assert agency_tasks == []  # the full view lists no tasks: the task list does


async def test_a_case_out_of_scope_or_unknown_is_not_found(rt: StoreUnits) -> None:
    one = await take(rt, report())
    for caller, case_id in [(FAR_OFFICER, one.case.id), (SUPERVISOR, "case-none")]:
        with pytest.raises(NotFound):
            await service.read_case(rt.store, caller=caller, case_id=case_id)
        with pytest.raises(NotFound):
            await service.list_tasks(
                rt.store, caller=caller, case_id=case_id, status=None, limit=10
            )


async def test_task_lists_by_case_by_assignee_and_by_status(rt: StoreUnits) -> None:
    one = await take(rt, report())
    police, social = one.tasks

    async def listed(
        caller: Principal, *, case_id: str | None = None, status: TaskStatus | None = None
    ) -> set[str]:
        found, cursor = await service.list_tasks(
            rt.store, caller=caller, case_id=case_id, status=status, limit=10
        )
        assert cursor is None  # everything fits one page
        return {t.id for t in found}

    assert await listed(DISPATCHER, case_id=one.case.id) == {police.id, social.id}
    assert await listed(OFFICER) == {police.id}
    assert await listed(SOCIAL) == {social.id}
    assert await listed(Principal(user_id="a", role=Role.auditor)) == set()
    await service.acknowledge_task(rt, caller=OFFICER, task_id=police.id)
    assert await listed(DISPATCHER, status=TaskStatus.open) == {social.id}


async def _all_pages(
    rt: StoreUnits, caller: Principal, *, status: TaskStatus | None = None, limit: int
) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        tasks, cursor = await service.list_tasks(
            rt.store, caller=caller, case_id=None, status=status, limit=limit, after=cursor
        )
        pages.append([t.id for t in tasks])
        if cursor is None:
            return pages


async def test_task_lists_page_by_cursor_in_the_order_of_one_whole_list(rt: StoreUnits) -> None:
    # Five children: a repeat report about one child would join its open tasks instead.
    taken = [
        await take(rt, report(f"rep-{n}").model_copy(update={"child_ref": f"child-{n}"}))
        for n in range(5)
    ]
    police = [i.tasks[0].id for i in taken]
    await service.acknowledge_task(rt, caller=OFFICER, task_id=police[1])
    whole, _ = await service.list_tasks(
        rt.store, caller=DISPATCHER, case_id=None, status=None, limit=100
    )
    pages = await _all_pages(rt, DISPATCHER, limit=3)
    assert [len(p) for p in pages] == [3, 3, 3, 1]  # the last page says there is no next
    assert [i for p in pages for i in p] == [
        t.id for t in whole
    ]  # oldest first, ties by id, none twice
    assert await _all_pages(rt, OFFICER, limit=2) == [police[:2], police[2:4], police[4:]]
    open_police = [t for n, t in enumerate(police) if n != 1]
    assert await _all_pages(rt, OFFICER, status=TaskStatus.open, limit=3) == [
        open_police[:3],
        open_police[3:],
    ]
    assert await _all_pages(rt, OFFICER, limit=5) == [police]


async def test_a_supervisor_closes_a_case_once_and_it_is_announced(rt: StoreUnits) -> None:
    one = await take(rt, report())
    rt.events.clear()
    closed, more = await service.close_case(
        rt, caller=SUPERVISOR, case_id=one.case.id, reason="handed over"
    )
    assert more is None  # a short chronology, whole
    assert closed.status is CaseStatus.closed
    assert closed.closed_at is not None
    assert await whole_case(rt.store, one.case.id) == closed
    *cancelled, event = rt.events
    # Its open tasks are cancelled with it (and their timers fire into nothing).
    assert {e.parse(TaskCancelled).task_id for e in cancelled} == {t.id for t in one.tasks}
    for task in one.tasks:
        stored = await get_task(rt.store, task_id=task.id)
        assert stored is not None
        assert (stored.status, stored.reason) == (TaskStatus.cancelled, "case closed")
    assert event.parse(CaseClosed) == CaseClosed(
        case_id=one.case.id, child_ref=one.case.child_ref, closed_at=closed.closed_at
    )
    with pytest.raises(Conflict):
        await service.close_case(rt, caller=SUPERVISOR, case_id=one.case.id, reason="again")
    assert len(rt.events) == 3


async def test_closing_is_refused_to_others_and_changes_nothing(rt: StoreUnits) -> None:
    one = await take(rt, report())
    rt.events.clear()
    with pytest.raises(NotAllowed):
        await service.close_case(rt, caller=DISPATCHER, case_id=one.case.id, reason="r")
    with pytest.raises(NotFound):
        await service.close_case(rt, caller=FAR_OFFICER, case_id=one.case.id, reason="r")
    with pytest.raises(NotFound):
        await service.close_case(rt, caller=SUPERVISOR, case_id="case-none", reason="r")
    assert await whole_case(rt.store, one.case.id) == one.case
    assert rt.events == []


async def test_after_closing_the_next_report_about_the_child_opens_a_new_case(
    rt: StoreUnits,
) -> None:
    """Closing frees the child by itself (the partial unique index counts open cases only)."""
    one = await take(rt, report())
    await service.close_case(rt, caller=SUPERVISOR, case_id=one.case.id, reason="done")
    again = await take(rt, report("rep-2", category=ReportCategory.truancy))
    assert again.opened
    assert again.case.id != one.case.id
    assert again.case.risk_level is Severity.critical


async def test_the_assignee_acknowledges_a_task_once(rt: StoreUnits) -> None:
    one = await take(rt, report())
    police = one.tasks[0]
    rt.events.clear()
    acked = await service.acknowledge_task(rt, caller=OFFICER, task_id=police.id)
    assert acked.status is TaskStatus.acknowledged
    assert acked.acknowledged_by == "officer-1"
    assert await get_task(rt.store, task_id=police.id) == acked
    case = await whole_case(rt.store, one.case.id)
    assert case is not None
    assert case.chronology[-1].kind == "task_acknowledged"
    (event,) = rt.events
    assert event.parse(TaskAcknowledged).acknowledged_at == acked.acknowledged_at

    again = await service.acknowledge_task(rt, caller=OFFICER, task_id=police.id)
    assert again == acked
    assert len(rt.events) == 1


async def test_acknowledging_is_refused_to_others_and_changes_nothing(rt: StoreUnits) -> None:
    one = await take(rt, report())
    police, social = one.tasks
    rt.events.clear()
    with pytest.raises(NotAllowed):
        await service.acknowledge_task(rt, caller=OTHER_OFFICER, task_id=police.id)
    with pytest.raises(NotAllowed):
        await service.acknowledge_task(rt, caller=OFFICER, task_id=social.id)
    with pytest.raises(NotFound):
        await service.acknowledge_task(rt, caller=FAR_OFFICER, task_id=police.id)
    with pytest.raises(NotFound):
        await service.acknowledge_task(rt, caller=OFFICER, task_id="task-none")
    assert await get_task(rt.store, task_id=police.id) == police
    assert rt.events == []


async def test_a_cases_tasks_page_within_the_callers_school_and_status(rt: StoreUnits) -> None:
    """A case's tasks are filtered after the case's index is read: pages are still full."""
    # Needs that share no kind of task, so each report starts two (the repeat rule).
    needs = [
        ("school-1", ReportCategory.self_harm),
        ("school-2", ReportCategory.bullying_victim),
        ("school-1", ReportCategory.internet_addiction),  # its counselling joins rep-1's
        ("school-2", ReportCategory.bullying_perpetrator),
        ("school-2", ReportCategory.teacher_conflict),  # joins rep-1's counselling task too
    ]
    for n, (school, category) in enumerate(needs):
        intake = await take(rt, report(f"rep-{n}", school_id=school, category=category))
    case_id = intake.case.id
    whole, _ = await service.list_tasks(
        rt.store, caller=TEACHER_2, case_id=case_id, status=None, limit=100
    )
    assert len(whole) == 5
    assert {t.school_id for t in whole} == {"school-2"}
    pages, cursor = [], None
    while True:
        page, cursor = await service.list_tasks(
            rt.store, caller=TEACHER_2, case_id=case_id, status=None, limit=4, after=cursor
        )
        pages.append([t.id for t in page])
        if cursor is None:
            break
    assert pages == [[t.id for t in whole[:4]], [t.id for t in whole[4:]]]
    police = next(t for t in whole if t.agency.value == "police")
    await service.acknowledge_task(rt, caller=OFFICER, task_id=police.id)
    still_open, _ = await service.list_tasks(
        rt.store, caller=TEACHER_2, case_id=case_id, status=TaskStatus.open, limit=100
    )
    assert [t.id for t in still_open] == [t.id for t in whole if t.id != police.id]
