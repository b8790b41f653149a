"""Shifts' and posts' use cases: planning, check-in by the person on the post, the lists, the
day's plan weighted by the venues per grid area, and the desk's alert for an unstaffed post."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from services.patrol import store as patrol_store
from services.patrol.shifts import domain, store
from services.patrol.shifts.domain import Post, Shift
from services.patrol.venues import store as venues_store
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.notifications import role_inbox
from shared.contracts.shifts import (
    AreaPlan,
    PlanView,
    PostCheckedIn,
    PostCreate,
    PostPlanned,
    PostStatus,
    ShiftCreate,
    ShiftKind,
    ShiftPlanned,
)
from shared.events import new_id, stored_time, utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Cursor, Range, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "patrol"


def _plans(caller: Principal) -> None:
    if caller.role not in domain.PLANNERS:
        raise NotAllowed("the duty desk and the supervisor plan patrols")


def _times(starts_at: datetime, ends_at: datetime) -> None:
    try:
        domain.check_times(starts_at, ends_at)
    except domain.Refusal as exc:
        raise InvalidField("body", exc.field or "ends_at", str(exc)) from exc


async def plan_shift(rt: Transactor, *, caller: Principal, body: ShiftCreate) -> Shift:
    _plans(caller)
    _times(body.starts_at, body.ends_at)
    shift = Shift(id="shf-" + new_id(), **body.model_dump(), planned_by=caller.user_id)

    async def work(uow: UnitOfWork) -> Shift:
        await store.put_shift(uow.tx, shift=shift)
        event = ShiftPlanned(
            shift_id=shift.id,
            kind=shift.kind,
            area=shift.area,
            starts_at=shift.starts_at,
            ends_at=shift.ends_at,
            officers=tuple(shift.officers),
        )
        uow.announce(event, source=SOURCE, subject=shift.id, correlation_id=shift.id)
        return shift

    return await rt.transact(work)


async def plan_post(rt: Transactor, *, caller: Principal, body: PostCreate) -> Post:
    _plans(caller)
    _times(body.starts_at, body.ends_at)
    post = Post(id="gp-" + new_id(), **body.model_dump(), planned_by=caller.user_id)

    async def work(uow: UnitOfWork) -> Post:
        await store.put_post(uow.tx, post=post)
        event = PostPlanned(
            post_id=post.id, school_id=post.school_id, slot=post.slot, starts_at=post.starts_at
        )
        uow.announce(event, source=SOURCE, subject=post.id, correlation_id=post.id)
        return post

    return await rt.transact(work)


async def check_in(
    rt: Transactor, *, caller: Principal, post_id: str, now: datetime | None = None
) -> Post:
    at = now or utcnow()

    async def work(uow: UnitOfWork) -> Post:
        post = await store.get_post(uow.tx, post_id=post_id)
        schools = domain.post_schools(caller)
        if post is None or (schools is not None and post.school_id not in schools):
            raise NotFound("post not found")
        try:
            done = domain.check_in(post, user_id=caller.user_id, now=at)
        except domain.Refusal as exc:
            if caller.user_id not in {s.user_id for s in post.staff}:
                raise NotAllowed(str(exc)) from exc
            raise Conflict(str(exc)) from exc
        await store.put_post(uow.tx, post=done)
        event = PostCheckedIn(
            post_id=post.id,
            school_id=post.school_id,
            user_id=caller.user_id,
            at=at,
            late=post.status is PostStatus.unstaffed,
        )
        uow.announce(event, source=SOURCE, subject=post.id, correlation_id=post.id)
        return done

    return await rt.transact(work)


# --- reads ------------------------------------------------------------------------------------


def _day(day: date | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    return domain.day_bounds(day, zone) if day else (None, None)


async def shifts(
    port: Reader,
    *,
    caller: Principal,
    day: date | None,
    zone: ZoneInfo,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Shift], Cursor | None]:
    if caller.role not in domain.READERS:
        raise NotAllowed("the station's officers, desk and supervisor")
    start, end = _day(day, zone)
    return await store.shifts(port, start=start, end=end, limit=limit, after=after)


async def posts(
    port: Reader,
    *,
    caller: Principal,
    day: date | None,
    school_id: str | None,
    zone: ZoneInfo,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Post], Cursor | None]:
    if caller.role not in domain.POST_READERS:
        raise NotAllowed("the station's officers, desk, supervisor and the posts' volunteers")
    schools = domain.post_schools(caller)
    if school_id is not None:
        if schools is not None and school_id not in schools:
            raise NotFound("school not found")
        schools = (school_id,)
    start, end = _day(day, zone)
    return await store.posts(port, schools=schools, start=start, end=end, limit=limit, after=after)


async def _day_shifts(port: Reader, start: datetime, end: datetime) -> list[Shift]:
    found, cursor = await store.shifts(port, start=start, end=end, limit=500, after=None)
    while cursor is not None:
        more, cursor = await store.shifts(port, start=start, end=end, limit=500, after=cursor)
        found += more
    return found


async def _day_posts(port: Reader, start: datetime, end: datetime) -> list[Post]:
    found, cursor = await store.posts(
        port, schools=None, start=start, end=end, limit=500, after=None
    )
    while cursor is not None:
        more, cursor = await store.posts(
            port, schools=None, start=start, end=end, limit=500, after=cursor
        )
        found += more
    return found


async def plan(port: Reader, *, caller: Principal, day: date, zone: ZoneInfo) -> PlanView:
    if caller.role not in domain.READERS:
        raise NotAllowed("the station's officers, desk and supervisor")
    start, end = domain.day_bounds(day, zone)
    day_shifts = await _day_shifts(port, start, end)
    day_posts = await _day_posts(port, start, end)
    venues = {d["area"]: int(d["venues"]) for d in await venues_store.all_areas(port)}
    street = [s for s in day_shifts if s.kind is not ShiftKind.online]
    planned = {
        area: sum(s.area == area for s in street) for area in {*venues, *(s.area for s in street)}
    }
    shares = domain.share_out(venues, len(street))
    areas = [
        AreaPlan(
            area=area,
            venues=venues.get(area, 0),
            weight=shares.get(area, (0.0, 0))[0],
            suggested_shifts=shares.get(area, (0.0, 0))[1],
            shifts=planned[area],
        )
        for area in sorted(planned, key=lambda a: (-venues.get(a, 0), a))
    ]
    due = await port.count(
        patrol_store.WELFARE_CHECKS_C,
        where={"due_at": Range(gte=stored_time(start), lt=stored_time(end))},
    )
    return PlanView(
        day=day,
        areas=areas,
        street_shifts=len(street),
        online_shifts=len(day_shifts) - len(street),
        posts=len(day_posts),
        posts_checked_in=sum(p.status is PostStatus.checked_in for p in day_posts),
        welfare_checks_due=due,
    )


# --- the unstaffed post -----------------------------------------------------------------------


async def claim_unstaffed(
    uow: UnitOfWork, *, post_id: str, now: datetime, grace: timedelta
) -> bool:
    """Tell the desk once: the claim (status unstaffed) is written with the alert."""
    post = await store.get_post(uow.tx, post_id=post_id)
    if post is None or not domain.unstaffed(post, now=now, grace=grace):
        return False
    await store.put_post(
        uow.tx,
        post=post.model_copy(update={"status": PostStatus.unstaffed, "unstaffed_alerted_at": now}),
    )
    minutes = int(grace.total_seconds() // 60)
    raised = PatrolAlertRaised(
        alert_id=f"post_unstaffed-{post.id}",
        kind="post_unstaffed",
        recipients=(role_inbox(Role.dispatcher),),
        title=f"Gate post at {post.school_id} ({post.slot.value}, {post.starts_at:%H:%M} UTC): "
        f"nobody checked in within {minutes} min",
        school_id=post.school_id,
        due_at=post.starts_at + grace,
    )
    uow.announce(raised, source=SOURCE, subject=post.id, correlation_id=post.id)
    return True
