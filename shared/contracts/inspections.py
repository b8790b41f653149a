"""School safety inspections (patrol): the checklist, inspections, rectification notices with
deadlines, re-inspections, the figures per school, and their events. No child in any of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.events import EventData, Instant

CODE = r"^[a-z][a-z0-9_]{1,39}$"


class ChecklistKind(StrEnum):
    """Whose checklist: a school's, or a venue kind's (shared.contracts.venues.VenueKind)."""

    school = "school"
    entertainment = "entertainment"
    hotel = "hotel"
    short_term_rental = "short_term_rental"


class ChecklistItem(Body):
    """One thing an inspection checks; failing it gives the school or venue `deadline_days`
    to fix it. The code is unique within its kind."""

    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=CODE)
    label: str = Field(min_length=1, max_length=200)
    deadline_days: int = Field(ge=1, le=180)
    kind: ChecklistKind = ChecklistKind.school


class ItemStatus(StrEnum):
    active = "active"  # new inspections answer it
    retired = "retired"  # no longer asked; past inspections and their notices keep it


class ChecklistItemView(ChecklistItem):
    status: ItemStatus = ItemStatus.active
    retired_at: datetime | None = None
    retired_by: str | None = None


class ItemResult(Body):
    model_config = ConfigDict(extra="forbid")

    item: str = Field(pattern=CODE)
    passed: bool
    note: str | None = Field(default=None, max_length=1000)


class InspectionCreate(Body):
    """Every item of the checklist answered once (else a 422 naming `results`)."""

    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    results: list[ItemResult] = Field(min_length=1, max_length=100)


class InspectionView(BaseModel):
    id: str
    school_id: str
    officer_id: str
    inspected_at: datetime
    results: list[ItemResult]
    notice_ids: list[str]


class NoticeStatus(StrEnum):
    open = "open"  # to be fixed by the deadline
    fixed_reported = "fixed_reported"  # the school says it is fixed; the officer re-inspects
    closed = "closed"  # the re-inspection passed


class RectificationView(BaseModel):
    id: str
    inspection_id: str
    school_id: str
    item: str
    label: str
    officer_id: str
    status: NoticeStatus
    deadline: datetime
    issued_at: datetime
    fixed_note: str | None = None
    fixed_by: str | None = None
    fixed_at: datetime | None = None
    reinspections: int = 0
    closed_at: datetime | None = None
    overdue_alerted_at: datetime | None = None
    venue_id: str | None = Field(
        default=None, description="a venue's notice: school_id then carries the venue's id"
    )


class FixReport(Body):
    model_config = ConfigDict(extra="forbid")

    note: str = Field(min_length=1, max_length=2000)


class Reinspection(Body):
    """Passed closes the notice; failed re-opens it until `new_deadline` (then required)."""

    model_config = ConfigDict(extra="forbid")

    passed: bool
    note: str | None = Field(default=None, max_length=2000)
    new_deadline: Instant | None = None


class SchoolFigures(BaseModel):
    """One school's inspections so far; `overdue` counted at the time of the answer."""

    school_id: str
    inspections: int
    items_failed: int
    notices_open: int
    notices_closed: int
    overdue: int
    last_inspected_at: datetime | None


# --- events ------------------------------------------------------------------------------------


class InspectionRecorded(EventData):
    TYPE: ClassVar[str] = "patrol.inspection.recorded"

    inspection_id: str
    school_id: str
    officer_id: str
    failed_items: tuple[str, ...]
    inspected_at: datetime


class RectificationIssued(EventData):
    TYPE: ClassVar[str] = "patrol.rectification.issued"

    notice_id: str
    inspection_id: str
    school_id: str
    item: str
    deadline: datetime
    venue_id: str | None = None  # a venue's notice (school_id then carries the venue's id)


class RectificationReportedFixed(EventData):
    TYPE: ClassVar[str] = "patrol.rectification.reported_fixed"

    notice_id: str
    school_id: str
    reported_by: str
    at: datetime


class RectificationReinspected(EventData):
    TYPE: ClassVar[str] = "patrol.rectification.reinspected"

    notice_id: str
    school_id: str
    officer_id: str
    passed: bool
    deadline: datetime  # the new one when it failed
    at: datetime
