"""Legal education: who records, sees and confirms an event (pure rules), and the use cases on
a real SQLite store: events announced without people's names, the term plan naming the schools
that have had no event yet, the demo term."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from services.school_liaison import store as school_store
from services.school_liaison.education import demo, domain, service, store
from services.school_liaison.models import School
from shared.contracts.education import (
    EducationEventConfirmed,
    EducationEventCreate,
    EducationEventRecorded,
    Participant,
    Topic,
)
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
SCHOOL = School(
    id="sch-01",
    name="No. 1",
    district="d",
    is_liaison_station=False,
    community_officer_id="officer1",
    social_org_id="org-rainbow",
)
OFFICER = Principal(user_id="officer1", role=Role.police_officer, school_ids=("sch-01",))
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
GRID = Principal(user_id="grid1", role=Role.grid_worker, school_ids=("sch-01", "sch-02"))
EVENT = EducationEventCreate(
    school_id="sch-01",
    term="2026-spring",
    topic=Topic.anti_bullying,
    held_on=date(2026, 3, 2),
    participants=[
        Participant(user_id="officer1", role="police_officer"),
        Participant(user_id="grid1", role="grid_worker"),
    ],
    audience=240,
)


@pytest.mark.parametrize(
    ("principal", "records", "sees", "confirms"),
    [
        (OFFICER, True, True, False),
        (
            Principal(user_id="o", role=Role.police_officer, school_ids=("sch-10",)),
            False,
            False,
            False,
        ),
        (Principal(user_id="w", role=Role.social_worker, org_id="org-rainbow"), True, True, False),
        (
            Principal(user_id="w", role=Role.social_worker, org_id="org-harbour"),
            False,
            False,
            False,
        ),
        (TEACHER, False, True, True),
        (Principal(user_id="t", role=Role.teacher, school_id="sch-02"), False, False, False),
        (GRID, False, True, False),
        (
            Principal(user_id="v", role=Role.safety_volunteer, school_ids=("sch-09",)),
            False,
            False,
            False,
        ),
        (Principal(user_id="s", role=Role.supervisor), True, True, False),
        (Principal(user_id="d", role=Role.dispatcher), False, True, False),
        (Principal(user_id="a", role=Role.auditor), False, False, False),
    ],
)
def test_who_records_sees_and_confirms(
    principal: Principal, records: bool, sees: bool, confirms: bool
) -> None:
    assert domain.may_record(principal, SCHOOL) is records
    assert domain.may_see(principal, SCHOOL) is sees
    assert domain.may_confirm(principal, SCHOOL.id) is confirms


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(
        tmp_path, component="school_liaison", migrations=school_store.MIGRATIONS
    )
    await store.MIGRATIONS[0].step(opened)
    await school_store.seed_demo_schools(opened)
    yield opened
    await opened.close()


async def test_an_event_is_recorded_confirmed_once_and_announced_by_role_counts(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    event = await service.record(rt, caller=OFFICER, body=EVENT, now=T0)
    [recorded] = rt.events
    assert recorded.parse(EducationEventRecorded).participants_by_role == {
        "police_officer": 1,
        "grid_worker": 1,
    }
    with pytest.raises(NotAllowed):
        await service.confirm(rt, caller=OFFICER, event_id=event.id)
    confirmed = await service.confirm(rt, caller=TEACHER, event_id=event.id)
    assert confirmed.confirmed_by == "teacher1"
    assert rt.events[-1].parse(EducationEventConfirmed).confirmed_by == "teacher1"
    with pytest.raises(Conflict):
        await service.confirm(rt, caller=TEACHER, event_id=event.id)
    stranger = Principal(user_id="t", role=Role.teacher, school_id="sch-02")
    with pytest.raises(NotFound):
        await service.confirm(rt, caller=stranger, event_id=event.id)


async def test_refused_events_leave_nothing(port: Store) -> None:
    rt = StoreUnits(port)
    with pytest.raises(InvalidField) as unknown:
        await service.record(
            rt, caller=OFFICER, body=EVENT.model_copy(update={"school_id": "sch-99"})
        )
    assert unknown.value.loc == ["body", "school_id"]
    with pytest.raises(NotAllowed):
        await service.record(rt, caller=TEACHER, body=EVENT)
    assert rt.events == []
    assert await port.count(store.EVENTS_C) == 0


async def test_the_term_plan_names_every_visible_school_and_what_it_lacks(port: Store) -> None:
    rt = StoreUnits(port)
    await service.record(rt, caller=OFFICER, body=EVENT, now=T0)
    drill = EVENT.model_copy(update={"topic": Topic.emergency_drill, "audience": 60})
    await service.record(rt, caller=OFFICER, body=drill, now=T0)
    rows, cursor = await service.term_plan(
        port, caller=GRID, term="2026-spring", limit=10, after=None
    )
    assert cursor is None
    assert [(r.school_id, r.events, r.audience) for r in rows] == [
        ("sch-01", 2, 300),
        ("sch-02", 0, 0),
    ]
    assert rows[0].topics == [Topic.anti_bullying, Topic.emergency_drill]
    assert Topic.anti_fraud in rows[0].missing_topics
    assert rows[1].topics == []
    desk = Principal(user_id="d", role=Role.dispatcher)
    first, after = await service.term_plan(
        port, caller=desk, term="2026-spring", limit=20, after=None
    )
    rest, end = await service.term_plan(
        port, caller=desk, term="2026-spring", limit=20, after=after
    )
    assert [r.school_id for r in first + rest] == [f"sch-{n:02d}" for n in range(1, 22)]
    assert end is None
    other_term, _ = await service.events(
        port, caller=GRID, school_id=None, term="2026-autumn", limit=10, after=None
    )
    assert other_term == []


async def test_the_demo_term_has_events_at_twelve_schools_and_none_at_nine(port: Store) -> None:
    rt = StoreUnits(port)
    await demo.seed(rt)
    await demo.seed(rt)  # a restart: left as it is
    desk = Principal(user_id="d", role=Role.dispatcher)
    rows, _ = await service.term_plan(port, caller=desk, term=demo.TERM, limit=100, after=None)
    assert sum(1 for r in rows if r.events) == 12
    assert sum(1 for r in rows if not r.events) == 9
