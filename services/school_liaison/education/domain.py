"""Pure rules of legal-education events: who records, confirms and sees them, what a term's
plan says per school. The clock is handed in."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from pydantic import BaseModel

from services.school_liaison.models import School
from shared.contracts.education import Participant, TermPlanRow, Topic
from shared.events import Timestamp
from shared.identity import SCHOOL_STAFF, STATION_WIDE, Principal, Role

# Campaign participants see the events of the schools of their grid, nothing else.
GRID_ROLES = frozenset({Role.grid_worker, Role.safety_volunteer})


class EducationEvent(BaseModel):
    id: str
    school_id: str
    term: str
    topic: Topic
    held_on: date
    participants: list[Participant]
    audience: int
    recorded_by: str
    recorded_at: Timestamp
    confirmed_by: str | None = None
    confirmed_at: Timestamp | None = None


class Refusal(Exception):
    """A rule said no."""


def may_record(principal: Principal, school: School) -> bool:
    """The school's officer, its social-work organisation, or the station's supervisor (who
    organises the term-start campaigns)."""
    if principal.role is Role.supervisor:
        return True
    if principal.role is Role.police_officer:
        return school.id in principal.school_ids
    if principal.role is Role.social_worker:
        return principal.org_id == school.social_org_id
    return False


def may_see(principal: Principal, school: School) -> bool:
    if principal.role in STATION_WIDE:
        return True
    if principal.role in SCHOOL_STAFF:
        return principal.school_id == school.id
    if principal.role in GRID_ROLES or principal.role is Role.police_officer:
        return school.id in principal.school_ids
    if principal.role is Role.social_worker:
        return principal.org_id == school.social_org_id
    return False


def may_confirm(principal: Principal, school_id: str) -> bool:
    return principal.role in SCHOOL_STAFF and principal.school_id == school_id


def confirm(event: EducationEvent, *, by: str, now: datetime) -> EducationEvent:
    if event.confirmed_at is not None:
        raise Refusal(f"confirmed already by {event.confirmed_by}")
    return event.model_copy(update={"confirmed_by": by, "confirmed_at": now})


def by_role(participants: Iterable[Participant]) -> dict[str, int]:
    return dict(Counter(p.role.value for p in participants))


def plan_row(school_id: str, term: str, events: list[EducationEvent]) -> TermPlanRow:
    """What the school has had this term, and which topics it has not had yet."""
    had = sorted({e.topic for e in events}, key=list(Topic).index)
    return TermPlanRow(
        school_id=school_id,
        term=term,
        events=len(events),
        audience=sum(e.audience for e in events),
        topics=had,
        missing_topics=[t for t in Topic if t not in had],
    )
