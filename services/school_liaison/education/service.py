"""Legal-education use cases: an event recorded and confirmed, the events a caller may see, and
the term plan (every school the caller sees, with the topics it has had and has not)."""

from __future__ import annotations

from datetime import datetime

from services.school_liaison import store as school_store
from services.school_liaison.education import domain, store
from services.school_liaison.education.domain import EducationEvent
from services.school_liaison.models import School
from shared.contracts.education import (
    EducationEventConfirmed,
    EducationEventCreate,
    EducationEventRecorded,
    TermPlanRow,
)
from shared.events import new_id, utcnow
from shared.identity import STATION_WIDE, Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "school_liaison"


async def _directory(port: Reader) -> list[School]:
    """Every school, by id (a district has a few dozen)."""
    schools: list[School] = []
    cursor: Cursor | None = None
    while True:
        page, cursor = await school_store.list_schools(port, limit=500, after=cursor)
        schools += page
        if cursor is None:
            return schools


async def _visible(port: Reader, caller: Principal) -> list[School]:
    return [s for s in await _directory(port) if domain.may_see(caller, s)]


async def record(
    rt: Transactor, *, caller: Principal, body: EducationEventCreate, now: datetime | None = None
) -> EducationEvent:
    school = await school_store.get_school(rt.store, school_id=body.school_id)
    if school is None:
        raise InvalidField("body", "school_id", "unknown school")
    if not domain.may_record(caller, school):
        raise NotAllowed("the school's officer, its social workers or the supervisor record it")
    event = EducationEvent(
        id="edu-" + new_id(),
        school_id=school.id,
        term=body.term,
        topic=body.topic,
        held_on=body.held_on,
        participants=list(dict.fromkeys(body.participants)),
        audience=body.audience,
        recorded_by=caller.user_id,
        recorded_at=now or utcnow(),
    )

    async def work(uow: UnitOfWork) -> EducationEvent:
        await store.put_event(uow.tx, event=event)
        recorded = EducationEventRecorded(
            event_id=event.id,
            school_id=event.school_id,
            term=event.term,
            topic=event.topic,
            held_on=event.held_on,
            audience=event.audience,
            participants_by_role=domain.by_role(event.participants),
            recorded_by=caller.user_id,
        )
        uow.announce(recorded, source=SOURCE, subject=event.id, correlation_id=event.id)
        return event

    return await rt.transact(work)


async def confirm(rt: Transactor, *, caller: Principal, event_id: str) -> EducationEvent:
    """The school's own staff confirm the event took place as recorded."""

    async def work(uow: UnitOfWork) -> EducationEvent:
        event = await store.get_event(uow.tx, event_id=event_id)
        school = None
        if event is not None:
            school = await school_store.get_school(uow.tx, school_id=event.school_id)
        if event is None or school is None or not domain.may_see(caller, school):
            raise NotFound("education event not found")
        if not domain.may_confirm(caller, event.school_id):
            raise NotAllowed("the school's own staff confirm its events")
        now = utcnow()
        try:
            confirmed = domain.confirm(event, by=caller.user_id, now=now)
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        await store.put_event(uow.tx, event=confirmed)
        done = EducationEventConfirmed(
            event_id=event.id,
            school_id=event.school_id,
            confirmed_by=caller.user_id,
            confirmed_at=now,
        )
        uow.announce(done, source=SOURCE, subject=event.id, correlation_id=event.id)
        return confirmed

    return await rt.transact(work)


async def events(
    port: Reader,
    *,
    caller: Principal,
    school_id: str | None,
    term: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[EducationEvent], Cursor | None]:
    """By date: the caller's schools' (the station: all), or one of them (404 if not theirs)."""
    if school_id is not None:
        school = await school_store.get_school(port, school_id=school_id)
        if school is None or not domain.may_see(caller, school):
            raise NotFound("school not found")
        schools: list[str] | None = [school_id]
    elif caller.role in STATION_WIDE:
        schools = None
    else:
        schools = [s.id for s in await _visible(port, caller)]
    return await store.events(port, schools=schools, term=term, limit=limit, after=after)


async def term_plan(
    port: Reader, *, caller: Principal, term: str, limit: int, after: Cursor | None
) -> tuple[list[TermPlanRow], Cursor | None]:
    """Every school the caller sees, by id, with the term's topics so far (none: empty)."""
    schools = [s for s in await _visible(port, caller) if after is None or s.id > after.id]
    page = schools[:limit]
    rows = [
        domain.plan_row(s.id, term, await store.events_of_school(port, school_id=s.id, term=term))
        for s in page
    ]
    more = len(schools) > limit
    return rows, (Cursor(page[-1].id, page[-1].id) if more and page else None)
