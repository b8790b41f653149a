"""A task's later moves on a real SQLite store: what each stores, announces and refuses, and
the sealed outcome note (readable by casework only, never in an event, gone with the child)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from services.case_tracking import notes, service, work
from services.case_tracking.deadlines import Deadlines
from services.case_tracking.notes import NoteSealer
from services.case_tracking.store import MIGRATIONS, get_task
from shared.contracts.cases import Reassignment, TaskStatus
from shared.settings import DEMO_PII_KEY
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.case_tracking.test_domain import report
from tests.unit.case_tracking.test_service import (
    DISPATCHER,
    FAR_OFFICER,
    OFFICER,
    OTHER_OFFICER,
    SOCIAL,
    TEACHER_1,
    take,
    whole_case,
)
from tests.unit.units import StoreUnits, sqlite_port

pytestmark = pytest.mark.unit
OUTCOME = "Li Ming was at home; his mother agreed to weekly counselling"


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[StoreUnits]:
    port = await sqlite_port(tmp_path, component="case_tracking", migrations=MIGRATIONS)
    yield StoreUnits(port)
    await port.close()


@pytest.fixture
def sealer() -> NoteSealer:
    return NoteSealer(DEMO_PII_KEY)


async def test_an_outcome_is_sealed_shown_to_casework_and_never_announced(
    rt: StoreUnits, sealer: NoteSealer
) -> None:
    police = (await take(rt, report())).tasks[0]
    await service.acknowledge_task(rt, caller=OFFICER, task_id=police.id)
    await work.start_task(rt, caller=OFFICER, task_id=police.id)
    done = await work.complete_task(
        rt, caller=OFFICER, task_id=police.id, outcome=OUTCOME, notes=sealer
    )
    assert done.status is TaskStatus.done
    stored = await get_task(rt.store, task_id=police.id)
    assert stored is not None
    assert stored.outcome_sealed is not None
    assert "Li Ming" not in stored.model_dump_json()
    case = await whole_case(rt.store, police.case_id)
    assert case is not None
    assert case.chronology
    assert "Li Ming" not in case.model_dump_json()
    assert all("Li Ming" not in e.model_dump_json() for e in rt.events)
    for reader in (OFFICER, DISPATCHER):
        _, outcome = await work.read_task(rt.store, caller=reader, task_id=police.id, notes=sealer)
        assert outcome == OUTCOME
    for outsider in (FAR_OFFICER, TEACHER_1):
        with pytest.raises(NotFound):
            await work.read_task(rt.store, caller=outsider, task_id=police.id, notes=sealer)

    erased = await rt.transact(lambda uow: notes.erase_child(uow.tx, child_ref=case.child_ref))
    assert erased == 1
    _, outcome = await work.read_task(rt.store, caller=OFFICER, task_id=police.id, notes=sealer)
    assert outcome is None


async def test_illegal_moves_are_conflicts_naming_the_state_and_change_nothing(
    rt: StoreUnits, sealer: NoteSealer
) -> None:
    police = (await take(rt, report())).tasks[0]
    with pytest.raises(Conflict, match="that is open"):
        await work.start_task(rt, caller=OFFICER, task_id=police.id)
    with pytest.raises(Conflict, match="that is open"):
        await work.complete_task(rt, caller=OFFICER, task_id=police.id, outcome="x", notes=sealer)
    assert await get_task(rt.store, task_id=police.id) == police
    assert await rt.store.count("case_keys") == 0  # no key made for a refused note


async def test_moves_are_the_assignees_and_the_desks(rt: StoreUnits) -> None:
    police, social = (await take(rt, report())).tasks
    with pytest.raises(NotAllowed):
        await work.decline_task(rt, caller=OTHER_OFFICER, task_id=police.id, reason="r")
    with pytest.raises(NotFound):
        await work.decline_task(rt, caller=FAR_OFFICER, task_id=police.id, reason="r")
    with pytest.raises(NotAllowed):
        await work.cancel_task(rt, caller=OFFICER, task_id=police.id, reason="r")
    declined = await work.decline_task(rt, caller=SOCIAL, task_id=social.id, reason="too far")
    assert (declined.status, declined.reason) == (TaskStatus.declined, "too far")
    cancelled = await work.cancel_task(rt, caller=DISPATCHER, task_id=police.id, reason="dup")
    assert cancelled.status is TaskStatus.cancelled
    assert [e.type for e in rt.events][-2:] == ["task.declined", "task.cancelled"]


async def test_a_reassignment_goes_within_scope_and_restarts_the_clock(rt: StoreUnits) -> None:
    police, social = (await take(rt, report())).tasks
    d = Deadlines()

    async def reassign(task_id: str, **body: Any) -> object:
        return await work.reassign_task(
            rt, caller=DISPATCHER, task_id=task_id, body=Reassignment(**body), deadlines=d
        )

    bad: list[tuple[str, dict[str, Any], str]] = [
        (police.id, {"assignee_org_id": "org-2"}, "assignee_org_id"),
        (police.id, {}, "assignee_user_id"),
        (police.id, {"assignee_user_id": "officer-7", "assignee_school_ids": ["school-7"]},
         "assignee_user_id"),
        (social.id, {"assignee_user_id": "officer-1"}, "assignee_user_id"),
        (social.id, {}, "assignee_org_id"),
    ]  # fmt: skip
    for task_id, body, field in bad:
        with pytest.raises(InvalidField) as refused:
            await reassign(task_id, **body)
        assert refused.value.loc == ["body", field]
    await reassign(police.id, assignee_user_id="officer-9", assignee_school_ids=["school-1"])
    moved = await get_task(rt.store, task_id=police.id)
    assert moved is not None
    assert moved.assignee_user_id == "officer-9"
    assert moved.ack_due_at is not None
    assert police.ack_due_at is not None
    assert moved.ack_due_at > police.ack_due_at
    timer_keys = {t.key for t in rt.timers}
    assert f"task.{police.id}.desk" in timer_keys
    event = rt.events[-1]
    assert event.type == "task.reassigned"
    assert (event.data["previous_user_id"], event.data["assignee_user_id"]) == (
        "officer-1",
        "officer-9",
    )
