"""Venue supervision (patrol): the registry of entertainment venues, hotels and short-term
rentals near the schools, their public-security responsibility letters, and inspections with a
checklist per kind (failed items: rectification notices, shared/contracts/inspections.py)."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.contracts.inspections import ItemResult
from shared.events import Day, EventData


class VenueKind(StrEnum):
    entertainment = "entertainment"
    hotel = "hotel"
    short_term_rental = "short_term_rental"


class VenueStatus(StrEnum):
    active = "active"
    suspended = "suspended"
    closed = "closed"


class VenueContact(Body):
    """The venue's responsible manager (an adult, by role)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100)
    phone: str = Field(min_length=3, max_length=32)


class VenueCreate(Body):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200)
    kind: VenueKind
    area: str = Field(min_length=1, max_length=40, description="the grid area")
    address: str = Field(min_length=1, max_length=300)
    nearest_school_id: str = Field(min_length=1, max_length=40)
    distance_m: int = Field(ge=0, le=100_000, description="to the nearest school, metres")
    contact: VenueContact
    status: VenueStatus = VenueStatus.active
    officer_id: str | None = Field(
        default=None, max_length=64, description="the officer in charge; the caller if absent"
    )


class Letter(Body):
    """A public-security responsibility letter (治安管理责任书)."""

    model_config = ConfigDict(extra="forbid")

    signed_on: Day
    expires_on: Day


class VenueStatusChange(Body):
    """active ⇄ suspended (ordered to stop trading, e.g. until a hazard is fixed); either →
    closed (out of business: final). The reason is the venue's, never a person's."""

    model_config = ConfigDict(extra="forbid")

    status: VenueStatus
    reason: str = Field(min_length=1, max_length=500)


class VenueView(BaseModel):
    id: str
    name: str
    kind: VenueKind
    area: str
    address: str
    nearest_school_id: str
    distance_m: int
    contact: VenueContact
    status: VenueStatus
    officer_id: str
    letter: Letter | None = None
    letter_alerted_for: date | None = None
    status_reason: str | None = None
    status_changed_at: datetime | None = None
    registered_at: datetime


class VenueInspectionCreate(Body):
    """Every item of the venue kind's checklist answered once (else a 422 naming `results`)."""

    model_config = ConfigDict(extra="forbid")

    results: list[ItemResult] = Field(min_length=1, max_length=50)


class VenueInspectionView(BaseModel):
    id: str
    venue_id: str
    kind: VenueKind
    officer_id: str
    inspected_at: datetime
    results: list[ItemResult]
    notice_ids: list[str]


class AreaVenues(BaseModel):
    """Active venues in a grid area: the patrol plan's weight."""

    area: str
    venues: int


# --- events ------------------------------------------------------------------------------------


class VenueRegistered(EventData):
    TYPE: ClassVar[str] = "patrol.venue.registered"

    venue_id: str
    kind: VenueKind
    area: str
    registered_at: datetime


class VenueLetterSigned(EventData):
    TYPE: ClassVar[str] = "patrol.venue.letter_signed"

    venue_id: str
    kind: VenueKind
    signed_on: Day
    expires_on: Day


class VenueInspected(EventData):
    TYPE: ClassVar[str] = "patrol.venue.inspected"

    inspection_id: str
    venue_id: str
    kind: VenueKind
    officer_id: str
    failed_items: tuple[str, ...]
    inspected_at: datetime


class VenueStatusChanged(EventData):
    """A venue opened again, was suspended or closed: projections counting venues (the
    year's figures: venues with signed letters) drop a closed one."""

    TYPE: ClassVar[str] = "patrol.venue.status_changed"

    venue_id: str
    kind: VenueKind
    area: str
    previous: VenueStatus
    status: VenueStatus
    by: str
    at: datetime
