"""Patrol shifts and school-gate posts (护学岗) (patrol), the plan weighted by the venues per
grid area, and their events. No child in any of it."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.events import EventData, Instant


class ShiftKind(StrEnum):
    vehicle = "vehicle"
    foot = "foot"
    online = "online"


class ShiftCreate(Body):
    model_config = ConfigDict(extra="forbid")

    kind: ShiftKind
    area: str = Field(min_length=1, max_length=40, description="the grid area (online: any)")
    starts_at: Instant
    ends_at: Instant
    officers: list[str] = Field(min_length=1, max_length=10)


class ShiftView(BaseModel):
    id: str
    kind: ShiftKind
    area: str
    starts_at: datetime
    ends_at: datetime
    officers: list[str]
    planned_by: str


class PostSlot(StrEnum):
    arrival = "arrival"
    leaving = "leaving"


class StaffRole(StrEnum):
    police_officer = "police_officer"
    safety_volunteer = "safety_volunteer"
    grid_worker = "grid_worker"


class PostStaff(Body):
    model_config = ConfigDict(extra="forbid")

    user_id: str = Field(min_length=1, max_length=64)
    role: StaffRole


class PostCreate(Body):
    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    slot: PostSlot
    starts_at: Instant
    ends_at: Instant
    staff: list[PostStaff] = Field(min_length=1, max_length=10)


class PostStatus(StrEnum):
    waiting = "waiting"  # nobody on it yet
    unstaffed = "unstaffed"  # nobody checked in within the grace: the desk was told
    checked_in = "checked_in"


class CheckIn(BaseModel):
    user_id: str
    at: datetime


class PostView(BaseModel):
    id: str
    school_id: str
    slot: PostSlot
    starts_at: datetime
    ends_at: datetime
    staff: list[PostStaff]
    status: PostStatus
    check_ins: list[CheckIn]
    planned_by: str
    unstaffed_alerted_at: datetime | None = None


class AreaPlan(BaseModel):
    area: str
    venues: int
    weight: float = Field(description="the area's share of the station's active venues")
    suggested_shifts: int = Field(description="the day's street shifts, shared out by weight")
    shifts: int = Field(description="street shifts planned there")


class PlanView(BaseModel):
    """One local day's plan: street shifts per grid area against the venue weighting, the
    online shifts, the gate posts, and the welfare checks due (GET /v1/welfare-checks)."""

    day: date
    areas: list[AreaPlan]
    street_shifts: int
    online_shifts: int
    posts: int
    posts_checked_in: int
    welfare_checks_due: int


# --- events ------------------------------------------------------------------------------------


class ShiftPlanned(EventData):
    TYPE: ClassVar[str] = "patrol.shift.planned"

    shift_id: str
    kind: ShiftKind
    area: str
    starts_at: datetime
    ends_at: datetime
    officers: tuple[str, ...]


class PostPlanned(EventData):
    TYPE: ClassVar[str] = "patrol.post.planned"

    post_id: str
    school_id: str
    slot: PostSlot
    starts_at: datetime


class PostCheckedIn(EventData):
    TYPE: ClassVar[str] = "patrol.post.checked_in"

    post_id: str
    school_id: str
    user_id: str
    at: datetime
    late: bool  # after the desk was told the post was unstaffed
