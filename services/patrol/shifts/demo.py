"""Demo shifts and posts for `make run` (demo mode only): the week around today, each day two
vehicle shifts and a foot shift weighted to the old town and the station area, an online
shift, and gate posts at arrival and leaving at sch-01 … sch-06; past posts checked in by
their officer, except two nobody came to (the desk is told at start)."""

from __future__ import annotations

import functools
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.patrol.shifts import service, store
from shared.contracts.shifts import PostCreate, PostStaff, ShiftCreate, StaffRole
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.usecases import Transactor

DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
SCHOOLS = ("sch-01", "sch-02", "sch-03", "sch-04", "sch-05", "sch-06")
SHIFTS = (  # kind, area, from, to (local)
    ("vehicle", "grid-oldtown", time(19), time(23)),
    ("foot", "grid-oldtown", time(20), time(22)),
    ("vehicle", "grid-station", time(21), time(23, 59)),
    ("online", "online", time(9), time(17)),
)
SLOTS = (("arrival", time(7, 30), time(8, 15)), ("leaving", time(16, 30), time(17, 15)))
NOBODY_CAME = {(-2, "sch-05", "leaving"), (-1, "sch-02", "arrival")}


def _at(day: date, t: time, *, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, t, tzinfo=zone)


def _officer(school: str) -> str:
    return f"officer{(int(school[-2:]) - 1) // 3 + 1}"


async def seed(rt: Transactor, *, zone: ZoneInfo) -> None:
    """Once: a store with shifts already is left as it is."""
    found, _ = await store.shifts(rt.store, start=None, end=None, limit=1, after=None)
    if found:
        return
    now = utcnow()
    today = now.astimezone(zone).date()
    for offset in range(-3, 4):
        day = today + timedelta(days=offset)
        at = functools.partial(_at, day, zone=zone)
        for n, (kind, area, start, end) in enumerate(SHIFTS):
            shift = ShiftCreate(
                kind=kind,
                area=area,
                starts_at=at(start),
                ends_at=at(end),
                officers=[f"officer{n + 1}"],
            )
            await service.plan_shift(rt, caller=DESK, body=shift)
        for school in SCHOOLS:
            for slot, start, end in SLOTS:
                officer = _officer(school)
                staff = [PostStaff(user_id=officer, role=StaffRole.police_officer)]
                if school in ("sch-01", "sch-02", "sch-03"):
                    staff.append(PostStaff(user_id="volunteer1", role=StaffRole.safety_volunteer))
                body = PostCreate(
                    school_id=school, slot=slot, starts_at=at(start), ends_at=at(end), staff=staff
                )
                post = await service.plan_post(rt, caller=DESK, body=body)
                if at(start) < now and (offset, school, slot) not in NOBODY_CAME:
                    who = Principal(user_id=officer, role=Role.police_officer)
                    await service.check_in(
                        rt, caller=who, post_id=post.id, now=at(start) + timedelta(minutes=3)
                    )
