"""Pure rules of patrol: which police tasks put a welfare check on the patrol plan."""

from __future__ import annotations

from shared.contracts.cases import Agency, TaskCreated
from shared.identity import STATION_WIDE, Principal, Role

# Police tasks that mean someone must go to the child's home or check on them in person.
FIELD_VISIT_KINDS = frozenset({"home_visit", "welfare_check"})


def needs_welfare_check(event: TaskCreated) -> bool:
    return event.agency is Agency.police and event.kind in FIELD_VISIT_KINDS


def welfare_check_filter(principal: Principal) -> dict[str, str] | None:
    """What a caller may list: officers their own visits, the station all; others nothing."""
    if principal.role in STATION_WIDE:
        return {}
    if principal.role is Role.police_officer:
        return {"officer_id": principal.user_id}
    return None
