"""Pure rules of shifts and school-gate posts: who plans, who checks in, when a post is
unstaffed, a day's bounds in the station's zone, and the plan's weighting by venues."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from pydantic import BaseModel

from shared.contracts.shifts import (
    CheckIn,
    PostSlot,
    PostStaff,
    PostStatus,
    ShiftKind,
)
from shared.events import Timestamp
from shared.identity import STATION_WIDE, Principal, Role

PLANNERS = (Role.dispatcher, Role.supervisor)
READERS = (Role.police_officer, Role.dispatcher, Role.supervisor)
POST_READERS = (*READERS, Role.safety_volunteer, Role.grid_worker)
MAX_LENGTH = timedelta(hours=24)


class Shift(BaseModel):
    id: str
    kind: ShiftKind
    area: str
    starts_at: Timestamp
    ends_at: Timestamp
    officers: list[str]
    planned_by: str


class Post(BaseModel):
    id: str
    school_id: str
    slot: PostSlot
    starts_at: Timestamp
    ends_at: Timestamp
    staff: list[PostStaff]
    status: PostStatus = PostStatus.waiting
    check_ins: list[CheckIn] = []
    planned_by: str
    unstaffed_alerted_at: Timestamp | None = None  # the alert's claim


class Refusal(Exception):
    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def check_times(starts_at: datetime, ends_at: datetime) -> None:
    if ends_at <= starts_at:
        raise Refusal("must be after starts_at", field="ends_at")
    if ends_at - starts_at > MAX_LENGTH:
        raise Refusal("at most 24 hours after starts_at", field="ends_at")


def post_schools(principal: Principal) -> tuple[str, ...] | None:
    """The posts a caller sees: the station's for officers and the desk, their grid's
    schools for volunteers and grid workers."""
    if principal.role in STATION_WIDE or principal.role is Role.police_officer:
        return None
    return principal.school_ids


def check_in(post: Post, *, user_id: str, now: datetime) -> Post:
    if user_id not in {s.user_id for s in post.staff}:
        raise Refusal("only the people on the post check in at it")
    if user_id in {c.user_id for c in post.check_ins}:
        raise Refusal("checked in already")
    if now >= post.ends_at:
        raise Refusal("the post is over")
    return post.model_copy(
        update={
            "status": PostStatus.checked_in,
            "check_ins": [*post.check_ins, CheckIn(user_id=user_id, at=now)],
        }
    )


def unstaffed(post: Post, *, now: datetime, grace: timedelta) -> bool:
    """Nobody checked in `grace` after its start, and the desk not told yet."""
    return post.status is PostStatus.waiting and post.starts_at + grace < now


def day_bounds(day: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    start = datetime.combine(day, time(0), tzinfo=zone)
    return start, datetime.combine(day + timedelta(days=1), time(0), tzinfo=zone)


def share_out(venues: dict[str, int], shifts: int) -> dict[str, tuple[float, int]]:
    """Each area's weight (its share of the venues) and its share of `shifts`, by largest
    remainder so the shares add up to `shifts`."""
    total = sum(venues.values())
    if total == 0:
        return {area: (0.0, 0) for area in venues}
    # Integer arithmetic: float remainders would break ties by rounding error.
    shares = {area: shifts * n // total for area, n in venues.items()}
    rest = {area: shifts * n % total for area, n in venues.items()}
    left = shifts - sum(shares.values())
    for area in sorted(venues, key=lambda a: (-rest[a], -venues[a], a))[:left]:
        shares[area] += 1
    return {area: (round(n / total, 3), shares[area]) for area, n in venues.items()}
