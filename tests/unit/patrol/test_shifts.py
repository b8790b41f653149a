"""Shifts and school-gate posts on a real SQLite store, clock handed in: the weighting by venues,
check-in only by the people on the post, the desk told once of a post nobody came to (a late
check-in still counts), the day's plan, refusals that leave nothing, and the demo week."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.patrol import store as patrol_store
from services.patrol.shifts import demo, domain, service
from services.patrol.shifts import store as shifts_store
from services.patrol.shifts.sweep import sweep_unstaffed
from services.patrol.venues import service as venues
from services.patrol.venues import store as venues_store
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.shifts import (
    PostCheckedIn,
    PostCreate,
    PostStaff,
    PostStatus,
    ShiftCreate,
    StaffRole,
)
from shared.contracts.venues import VenueContact, VenueCreate
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port

ZONE = ZoneInfo("Asia/Shanghai")
DAY = date(2026, 3, 2)
T0 = datetime(2026, 3, 1, 23, 30, tzinfo=UTC)  # 07:30 on 2 March in Beijing
GRACE = timedelta(minutes=10)
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
OFFICER = Principal(user_id="officer1", role=Role.police_officer)
VOLUNTEER = Principal(user_id="volunteer1", role=Role.safety_volunteer, school_ids=("sch-01",))
FAR_VOLUNTEER = Principal(user_id="volunteer9", role=Role.safety_volunteer, school_ids=("sch-09",))


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="patrol", migrations=patrol_store.MIGRATIONS)
    for migration in (*venues_store.MIGRATIONS, *shifts_store.MIGRATIONS):
        await migration.step(opened)
    yield opened
    await opened.close()


def post(school: str = "sch-01", start: datetime = T0) -> PostCreate:
    return PostCreate(
        school_id=school,
        slot="arrival",
        starts_at=start,
        ends_at=start + timedelta(minutes=45),
        staff=[
            PostStaff(user_id="officer1", role=StaffRole.police_officer),
            PostStaff(user_id="volunteer1", role=StaffRole.safety_volunteer),
        ],
    )


def shift(area: str, kind: str = "vehicle") -> ShiftCreate:
    start = T0 + timedelta(hours=12)
    return ShiftCreate(
        kind=kind,
        area=area,
        starts_at=start,
        ends_at=start + timedelta(hours=3),
        officers=["officer1"],
    )


def test_shifts_are_shared_out_by_venues_and_add_up() -> None:
    shares = domain.share_out({"old": 6, "station": 3, "park": 1}, 4)
    assert {a: n for a, (_w, n) in shares.items()} == {"old": 3, "station": 1, "park": 0}
    assert shares["old"][0] == 0.6
    assert sum(n for _w, n in domain.share_out({"a": 1, "b": 1, "c": 1}, 5).values()) == 5
    assert domain.share_out({"a": 0}, 3) == {"a": (0.0, 0)}


async def test_only_the_people_on_a_post_check_in_once(port: Store) -> None:
    rt = StoreUnits(port)
    planned = await service.plan_post(rt, caller=DESK, body=post())
    other = Principal(user_id="officer2", role=Role.police_officer)
    with pytest.raises(NotAllowed):
        await service.check_in(rt, caller=other, post_id=planned.id, now=T0)
    with pytest.raises(NotFound):  # another grid's post is not theirs to see
        await service.check_in(rt, caller=FAR_VOLUNTEER, post_id=planned.id, now=T0)
    done = await service.check_in(rt, caller=VOLUNTEER, post_id=planned.id, now=T0)
    assert done.status is PostStatus.checked_in
    with pytest.raises(Conflict):
        await service.check_in(rt, caller=VOLUNTEER, post_id=planned.id, now=T0)
    with pytest.raises(Conflict):  # over
        await service.check_in(rt, caller=OFFICER, post_id=planned.id, now=T0 + timedelta(hours=1))
    with pytest.raises(NotAllowed):
        await service.plan_post(rt, caller=OFFICER, body=post())


async def test_the_desk_is_told_once_of_a_post_nobody_came_to(port: Store) -> None:
    rt = StoreUnits(port)
    empty = await service.plan_post(rt, caller=DESK, body=post("sch-01"))
    manned = await service.plan_post(rt, caller=DESK, body=post("sch-02"))
    await service.check_in(rt, caller=OFFICER, post_id=manned.id, now=T0 + timedelta(minutes=2))
    assert await sweep_unstaffed(rt, now=T0 + GRACE, grace=GRACE) == []
    assert await sweep_unstaffed(rt, now=T0 + GRACE + timedelta(seconds=1), grace=GRACE) == [
        empty.id
    ]
    assert await sweep_unstaffed(rt, now=T0 + timedelta(minutes=30), grace=GRACE) == []
    [alert] = [e.parse(PatrolAlertRaised) for e in rt.events if e.type == PatrolAlertRaised.TYPE]
    assert (alert.kind, alert.recipients, alert.school_id) == (
        "post_unstaffed",
        ("role:dispatcher",),
        "sch-01",
    )
    late = await service.check_in(
        rt, caller=OFFICER, post_id=empty.id, now=T0 + timedelta(minutes=20)
    )
    assert late.status is PostStatus.checked_in
    [last] = [e.parse(PostCheckedIn) for e in rt.events if e.type == PostCheckedIn.TYPE][-1:]
    assert last.late


async def test_the_plan_weights_street_shifts_by_venues(port: Store) -> None:
    rt = StoreUnits(port)
    for area, n in (("grid-old", 3), ("grid-park", 1)):
        for _ in range(n):
            body = VenueCreate(
                name="V",
                kind="hotel",
                area=area,
                address="1 Road",
                nearest_school_id="sch-01",
                distance_m=10,
                contact=VenueContact(name="M", phone="0351-6000"),
            )
            await venues.register(rt, caller=OFFICER, body=body, now=T0)
    for planned_shift in (shift("grid-old"), shift("grid-new"), shift("online", "online")):
        await service.plan_shift(rt, caller=DESK, body=planned_shift)
    planned = await service.plan_post(rt, caller=DESK, body=post())
    await service.check_in(rt, caller=OFFICER, post_id=planned.id, now=T0)
    plan = await service.plan(port, caller=OFFICER, day=DAY, zone=ZONE)
    assert [(a.area, a.venues, a.weight, a.suggested_shifts, a.shifts) for a in plan.areas] == [
        ("grid-old", 3, 0.75, 2, 1),
        ("grid-park", 1, 0.25, 0, 0),
        ("grid-new", 0, 0.0, 0, 1),
    ]
    assert (plan.street_shifts, plan.online_shifts, plan.posts, plan.posts_checked_in) == (
        2,
        1,
        1,
        1,
    )
    other_day = await service.plan(port, caller=DESK, day=DAY + timedelta(days=1), zone=ZONE)
    assert (other_day.street_shifts, other_day.posts) == (0, 0)
    with pytest.raises(NotAllowed):
        await service.plan(port, caller=VOLUNTEER, day=DAY, zone=ZONE)


async def test_bad_times_are_refused_naming_ends_at_and_leave_nothing(port: Store) -> None:
    rt = StoreUnits(port)
    backwards = shift("grid-old").model_copy(update={"ends_at": T0})
    with pytest.raises(InvalidField) as refused:
        await service.plan_shift(rt, caller=DESK, body=backwards)
    assert refused.value.loc == ["body", "ends_at"]
    too_long = post().model_copy(update={"ends_at": T0 + timedelta(hours=25)})
    with pytest.raises(InvalidField):
        await service.plan_post(rt, caller=DESK, body=too_long)
    assert rt.events == []


async def test_posts_are_listed_per_day_and_per_grid(port: Store) -> None:
    rt = StoreUnits(port)
    await service.plan_post(rt, caller=DESK, body=post("sch-01"))
    await service.plan_post(rt, caller=DESK, body=post("sch-09"))
    await service.plan_post(rt, caller=DESK, body=post("sch-01", T0 + timedelta(days=1)))
    mine, _ = await service.posts(
        port, caller=VOLUNTEER, day=DAY, school_id=None, zone=ZONE, limit=10, after=None
    )
    assert [p.school_id for p in mine] == ["sch-01"]
    desk, _ = await service.posts(
        port, caller=DESK, day=DAY, school_id=None, zone=ZONE, limit=10, after=None
    )
    assert sorted(p.school_id for p in desk) == ["sch-01", "sch-09"]
    with pytest.raises(NotFound):
        await service.posts(
            port, caller=VOLUNTEER, day=None, school_id="sch-09", zone=ZONE, limit=10, after=None
        )


async def test_the_demo_week_is_seeded_once(port: Store) -> None:
    rt = StoreUnits(port)
    await demo.seed(rt, zone=ZONE)
    count = len(rt.events)
    await demo.seed(rt, zone=ZONE)
    assert len(rt.events) == count
    shifts, _ = await service.shifts(port, caller=DESK, day=None, zone=ZONE, limit=500, after=None)
    assert len(shifts) == 7 * len(demo.SHIFTS)
    posts, _ = await service.posts(
        port, caller=DESK, day=None, school_id=None, zone=ZONE, limit=500, after=None
    )
    assert len(posts) == 7 * len(demo.SCHOOLS) * 2
