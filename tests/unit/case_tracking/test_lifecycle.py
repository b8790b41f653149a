"""A task's moves, pure: which states each starts from, what it records, the reassignment's
fresh ladder."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest

from services.case_tracking import lifecycle
from services.case_tracking.deadlines import ACK_WINDOW, Deadlines
from services.case_tracking.domain import Case, Task, take_report
from services.case_tracking.lifecycle import FROM, IllegalMove, Move
from shared.contracts.cases import Escalation, TaskStatus
from shared.contracts.school import Severity
from tests.unit.case_tracking.test_domain import report

pytestmark = pytest.mark.unit
T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=1)


def opened() -> tuple[Case, Task]:
    intake = take_report(None, report(), now=T0, new_case_id="case-1", new_task_ids=("p", "s"))
    return intake.case, intake.tasks[0]


def apply(move: Move, case: Case, task: Task) -> tuple[Case, Task]:
    if move is Move.acknowledge:
        return lifecycle.acknowledge(case, task, by="u", now=T1)
    if move is Move.start:
        return lifecycle.start(case, task, by="u", now=T1)
    if move is Move.complete:
        return lifecycle.complete(case, task, by="u", sealed="SEALED", now=T1)
    if move is Move.decline:
        return lifecycle.decline(case, task, by="u", reason="r", now=T1)
    if move is Move.cancel:
        return lifecycle.cancel(case, task, by="u", reason="r", now=T1)
    return lifecycle.reassign(case, task, by="desk", user_id="officer-2", org_id=None,
                              reason=None, deadlines=Deadlines(), now=T1)  # fmt: skip


@pytest.mark.parametrize(
    ("move", "status"), list(itertools.product(Move, TaskStatus)), ids=lambda v: v.value
)
def test_each_move_starts_only_from_its_states_and_names_the_current_one(
    move: Move, status: TaskStatus
) -> None:
    case, task = opened()
    task = task.model_copy(update={"status": status})
    if status in FROM[move]:
        new_case, _ = apply(move, case, task)
        assert len(new_case.chronology) == len(case.chronology) + 1
    else:
        with pytest.raises(IllegalMove, match=f"that is {status.value}"):
            apply(move, case, task)


def test_the_happy_path_records_who_and_when_and_the_sealed_outcome_only() -> None:
    case, task = opened()
    case, task = lifecycle.acknowledge(case, task, by="officer-1", now=T1)
    case, task = lifecycle.start(case, task, by="officer-1", now=T1)
    case, task = lifecycle.complete(case, task, by="officer-1", sealed="SEALED", now=T1)
    assert (task.status, task.finished_by, task.outcome_sealed) == (
        TaskStatus.done, "officer-1", "SEALED"
    )  # fmt: skip
    assert [e.kind for e in case.chronology[-3:]] == ["task_acknowledged", "task_started",
                                                      "task_done"]  # fmt: skip
    assert "SEALED" not in case.model_dump_json()


def test_a_reassigned_task_is_open_again_with_a_fresh_ladder_and_its_due_time() -> None:
    case, task = opened()
    task = task.model_copy(update={"status": TaskStatus.declined, "escalation": Escalation.desk})
    case, moved = lifecycle.reassign(case, task, by="desk", user_id=None, org_id="org-9",
                                     reason="closer", deadlines=Deadlines(), now=T1)  # fmt: skip
    assert moved.status is TaskStatus.open
    assert moved.escalation is None
    assert moved.ack_due_at == T1 + ACK_WINDOW[Severity.critical]
    assert moved.due_at == task.due_at
    assert (moved.assignee_user_id, moved.assignee_org_id) == (None, "org-9")
    assert "org-9" in case.org_ids  # so its social workers see the case
    assert case.chronology[-1].kind == "task_reassigned"
