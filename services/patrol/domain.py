"""Pure rules of patrol: which police tasks put a welfare check on the patrol plan."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel

from shared.contracts.cases import Agency, TaskCreated
from shared.events import Timestamp
from shared.identity import STATION_WIDE, Principal, Role

# Police tasks that mean someone must go to the child's home or check on them in person.
FIELD_VISIT_KINDS = frozenset({"home_visit", "welfare_check"})


class WelfareCheck(BaseModel):
    """A visit on the patrol plan, one per police task that needs one."""

    id: str
    task_id: str
    case_id: str
    school_id: str
    officer_id: str | None
    due_at: Timestamp
    status: str = "planned"
    created_at: Timestamp


def needs_welfare_check(event: TaskCreated) -> bool:
    return event.agency is Agency.police and event.kind in FIELD_VISIT_KINDS


def welfare_check_for(task: TaskCreated, *, now: datetime) -> WelfareCheck:
    """The task's visit; its id follows from the task's, so a task plans one visit at most."""
    return WelfareCheck(
        id=f"wc-{task.task_id}",
        task_id=task.task_id,
        case_id=task.case_id,
        school_id=task.school_id,
        officer_id=task.assignee_user_id,
        due_at=task.due_at,
        created_at=now,
    )


def welfare_check_filter(principal: Principal) -> dict[str, str] | None:
    """What a caller may list: officers their own visits, the station all; others nothing."""
    if principal.role in STATION_WIDE:
        return {}
    if principal.role is Role.police_officer:
        return {"officer_id": principal.user_id}
    return None
