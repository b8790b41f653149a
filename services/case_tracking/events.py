"""The events a task's moves announce, and the refusal of an illegal move. No free text: the
reasons and the outcome note stay in case_tracking."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime

from services.case_tracking.domain import Task
from services.case_tracking.lifecycle import IllegalMove
from shared.contracts.cases import TaskCancelled, TaskDeclined
from shared.usecases import Conflict


@contextmanager
def legal() -> Iterator[None]:
    """An illegal move is a 409 that names the task's current state."""
    try:
        yield
    except IllegalMove as exc:
        raise Conflict(str(exc)) from exc


def _early(task: Task, *, by: str, now: datetime) -> dict[str, object]:
    return {
        "task_id": task.id,
        "case_id": task.case_id,
        "title": task.title,
        "by": by,
        "at": now,
        "assignee_user_id": task.assignee_user_id,
        "assignee_org_id": task.assignee_org_id,
    }


def cancelled(task: Task, *, by: str, now: datetime) -> TaskCancelled:
    return TaskCancelled.model_validate(_early(task, by=by, now=now))


def declined(task: Task, *, by: str, now: datetime) -> TaskDeclined:
    return TaskDeclined.model_validate(_early(task, by=by, now=now))
