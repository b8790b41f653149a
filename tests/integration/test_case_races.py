"""Racing requests on one case from two replicas: closing and acknowledging retry the
transactions that lost (PostgreSQL refuses them as serialization failures), so every request
gets its answer and each change lands once; and the chronology's migration. SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from services.case_tracking import service
from services.case_tracking.domain import Intake
from services.case_tracking.store import MIGRATIONS
from shared.contracts.cases import (
    CaseClosed,
    CaseStatus,
    TaskAcknowledged,
    TaskCancelled,
    TaskStatus,
)
from shared.events import Envelope
from shared.identity import Principal, Role
from shared.store import open_store
from shared.store.migrations import migrate
from shared.usecases import Conflict
from tests.support import StoreUrl, every_store
from tests.unit.case_tracking.test_chronology import migrates_legacy_cases
from tests.unit.case_tracking.test_domain import report
from tests.unit.case_tracking.test_service import SOCIAL, whole_case
from tests.unit.units import StoreUnits

__all__ = ["every_store"]

OFFICER = Principal(user_id="officer-1", role=Role.police_officer, school_ids=("school-1",))
SUPERVISOR = Principal(user_id="sup", role=Role.supervisor)
RACERS = 6


@pytest.fixture
async def replicas(store_url: StoreUrl) -> AsyncIterator[tuple[StoreUnits, StoreUnits]]:
    url = await store_url("case_tracking")
    a, b = await open_store(url), await open_store(url)
    await migrate(a, component="case_tracking", migrations=MIGRATIONS)
    yield StoreUnits(a), StoreUnits(b)
    await a.close()
    await b.close()


async def opened(rt: StoreUnits) -> Intake:
    r = report()
    cause = Envelope.wrap(
        r, source="school_liaison", subject=r.report_id, correlation_id=r.report_id
    )
    intake = await rt.transact(lambda uow: service.take_report(uow, report=r, cause=cause))
    rt.events.clear()
    return intake


async def test_racing_acknowledgements_all_answer_and_one_applies(
    replicas: tuple[StoreUnits, StoreUnits],
) -> None:
    a, b = replicas
    task = (await opened(a)).tasks[0]
    answers = await asyncio.gather(
        *(
            service.acknowledge_task(rt, caller=OFFICER, task_id=task.id)
            for _ in range(RACERS)
            for rt in (a, b)
        )
    )
    assert {t.status for t in answers} == {TaskStatus.acknowledged}
    assert len({t.acknowledged_at for t in answers}) == 1
    events = [*a.events, *b.events]
    assert [e.type for e in events] == [TaskAcknowledged.TYPE]
    case = await whole_case(a.store, task.case_id)
    assert case is not None
    assert [c.kind for c in case.chronology].count("task_acknowledged") == 1


async def test_racing_closings_answer_once_closed_and_otherwise_already_closed(
    replicas: tuple[StoreUnits, StoreUnits],
) -> None:
    a, b = replicas
    case_id = (await opened(a)).case.id
    outcomes = await asyncio.gather(
        *(
            service.close_case(rt, caller=SUPERVISOR, case_id=case_id, reason="handed over")
            for _ in range(RACERS)
            for rt in (a, b)
        ),
        return_exceptions=True,
    )
    closed = [o for o in outcomes if not isinstance(o, BaseException)]
    refused = [o for o in outcomes if isinstance(o, BaseException)]
    assert len(closed) == 1
    assert closed[0][0].status is CaseStatus.closed
    assert all(isinstance(o, Conflict) for o in refused), refused
    # The case's two open tasks are cancelled with it, once.
    cancelled = [TaskCancelled.TYPE, TaskCancelled.TYPE]
    assert [e.type for e in [*a.events, *b.events]] == [*cancelled, CaseClosed.TYPE]


async def test_racing_changes_to_one_case_append_each_entry_once(
    replicas: tuple[StoreUnits, StoreUnits],
) -> None:
    """Both rewrite the case's document: the loser runs again after the winner's entries."""
    a, b = replicas
    police, social = (await opened(a)).tasks
    await asyncio.gather(
        service.acknowledge_task(a, caller=OFFICER, task_id=police.id),
        service.acknowledge_task(b, caller=SOCIAL, task_id=social.id),
    )
    case = await whole_case(a.store, police.case_id)
    assert case is not None
    acked = [e.ref for e in case.chronology if e.kind == "task_acknowledged"]
    assert len(acked) == 2
    assert set(acked) == {police.id, social.id}
    assert (await a.store.get("cases", case.id) or {})["chronology_len"] == len(case.chronology)


async def test_the_chronology_migration_moves_legacy_cases(store_url: StoreUrl) -> None:
    port = await open_store(await store_url("case_tracking"))
    before = [m for m in MIGRATIONS if m.version < 8]
    await migrate(port, component="case_tracking", migrations=before)
    await migrates_legacy_cases(port)
    await port.close()
