"""patrol's use cases on a real SQLite store: which tasks join the patrol plan, who sees them."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.patrol import service, store
from services.patrol.domain import WelfareCheck
from shared.contracts.cases import Agency, TaskCreated
from shared.contracts.school import Severity
from shared.identity import Principal, Role
from shared.store import Store
from tests.unit.units import sqlite_port, unit_of_work

DUE = datetime(2024, 2, 1, 9, 30, tzinfo=UTC)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01",))
OTHER_OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=("sch-04",))
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="patrol", migrations=store.MIGRATIONS)
    yield opened
    await opened.close()


def _task(task_id: str, *, kind: str = "home_visit", agency: Agency = Agency.police) -> TaskCreated:
    police = agency is Agency.police
    return TaskCreated(
        task_id=task_id,
        case_id="case-1",
        school_id="sch-01",
        kind=kind,
        title="Visit",
        agency=agency,
        assignee_user_id="officer1" if police else None,
        assignee_org_id=None if police else "org-rainbow",
        risk_level=Severity.critical,
        due_at=DUE,
    )


async def _plan(port: Store, task: TaskCreated) -> WelfareCheck | None:
    async with unit_of_work(port) as uow:
        check = await service.plan_welfare_check(uow, task=task)
    assert uow.events == []
    return check


async def test_a_police_visit_joins_the_plan_once(port: Store) -> None:
    planned = await _plan(port, _task("t-1"))
    assert planned is not None
    assert (planned.id, planned.task_id, planned.officer_id) == ("wc-t-1", "t-1", "officer1")
    assert (planned.due_at, planned.status) == (DUE, "planned")
    assert await _listed(port, DESK) == [planned]
    await _plan(port, _task("t-1"))  # the same task again: still one visit
    assert [c.id for c in await _listed(port, DESK)] == ["wc-t-1"]


@pytest.mark.parametrize(
    "task",
    [
        _task("t-2", kind="school_visit"),
        _task("t-3", kind="counselling", agency=Agency.social_work),
    ],
    ids=["police-but-no-field-visit", "social-work"],
)
async def test_other_tasks_plan_nothing(port: Store, task: TaskCreated) -> None:
    assert await _plan(port, task) is None
    assert await _listed(port, DESK) == []


async def _listed(port: Store, caller: Principal, limit: int = 200) -> list[WelfareCheck]:
    checks, _ = await service.welfare_checks(port, caller=caller, limit=limit)
    return checks


async def test_officers_see_their_own_visits_the_desk_all_others_none(port: Store) -> None:
    later = _task("t-4").model_copy(update={"due_at": DUE + timedelta(hours=1)})
    theirs = _task("t-5").model_copy(update={"assignee_user_id": "officer2"})
    for task in (later, _task("t-1"), theirs):
        await _plan(port, task)
    assert [c.task_id for c in await _listed(port, OFFICER)] == ["t-1", "t-4"]  # soonest first
    assert [c.task_id for c in await _listed(port, OTHER_OFFICER)] == ["t-5"]
    assert len(await _listed(port, DESK)) == 3
    assert len(await _listed(port, DESK, limit=2)) == 2


async def test_the_plan_pages_soonest_first_by_cursor(port: Store) -> None:
    for n in range(5):
        task = _task(f"t-{n}").model_copy(update={"due_at": DUE + timedelta(hours=n % 3)})
        await _plan(port, task)
    whole = [c.id for c in await _listed(port, DESK)]
    pages, cursor = [], None
    while True:
        page, cursor = await service.welfare_checks(port, caller=DESK, limit=2, after=cursor)
        pages.append([c.id for c in page])
        if cursor is None:
            break
    assert pages == [whole[:2], whole[2:4], whole[4:]]
    assert whole == ["wc-t-0", "wc-t-3", "wc-t-1", "wc-t-4", "wc-t-2"]  # due, then id
    assert await _listed(port, TEACHER) == []
