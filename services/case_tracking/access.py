"""Who may see and do what in case_tracking: need-to-know by role and scope."""

from __future__ import annotations

from services.case_tracking.domain import Case, Task
from shared.contracts.cases import Agency
from shared.identity import SCHOOL_STAFF, STATION_WIDE, Principal, Role

DESK = frozenset({Role.dispatcher, Role.supervisor})


def may_close(principal: Principal) -> bool:
    """Closing ends the station's work on a child and starts the clock towards erasing the
    child's details: the supervisor's decision, not the desk's or a field worker's."""
    return principal.role is Role.supervisor


def may_see_case(principal: Principal, case: Case) -> bool:
    if principal.role in STATION_WIDE:
        return True
    if principal.role is Role.police_officer:
        return bool(set(case.school_ids) & set(principal.school_ids))
    if principal.role is Role.social_worker:
        return principal.org_id in case.org_ids
    if principal.role in SCHOOL_STAFF:
        return principal.school_id in case.school_ids
    return False


def may_acknowledge(principal: Principal, task: Task) -> bool:
    if task.agency is Agency.police:
        return principal.user_id == task.assignee_user_id
    return principal.role is Role.social_worker and principal.org_id == task.assignee_org_id


def may_dispatch(principal: Principal) -> bool:
    """The desk hands tasks out again and calls them off."""
    return principal.role in DESK


def may_read_details(principal: Principal) -> bool:
    """Who reads a case's details (its chronology, outcome notes): casework, not the schools."""
    return principal.role in {*DESK, Role.police_officer, Role.social_worker}


def task_filter(principal: Principal) -> dict[str, str] | None:
    """Store filter for "my tasks"; None means the caller sees no task list at all."""
    if principal.role in STATION_WIDE:
        return {}
    if principal.role is Role.police_officer:
        return {"assignee_user_id": principal.user_id}
    if principal.role is Role.social_worker and principal.org_id:
        return {"assignee_org_id": principal.org_id}
    if principal.role in SCHOOL_STAFF and principal.school_id:
        return {"school_id": principal.school_id}
    return None


def feedback_only(principal: Principal) -> bool:
    return principal.role in SCHOOL_STAFF


def task_scope(principal: Principal) -> dict[str, str]:
    """Extra store filter on a case's tasks: school staff see only their own school's."""
    if feedback_only(principal):
        if not principal.school_id:
            # Asked only once may_see_case has admitted the caller, which needs a school.
            raise ValueError("task_scope: school staff without a school saw a case")
        return {"school_id": principal.school_id}
    return {}
