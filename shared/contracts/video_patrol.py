"""Daily video patrol of the schools' cameras (patrol): a check per school and day with its
findings, the day's coverage, and their events. No child is named: a student at risk is
described as seen ("a girl alone on the roof edge at 10:40"); school_liaison files the concern
report and keeps whatever identity the school later adds."""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.contracts.school import ReportCategory
from shared.events import Day, EventData


class FindingKind(StrEnum):
    hazard = "hazard"  # becomes a rectification notice for the school
    student_at_risk = "student_at_risk"  # becomes a concern report (the core flow)
    other = "other"  # recorded only


class Finding(Body):
    model_config = ConfigDict(extra="forbid")

    kind: FindingKind
    note: str = Field(min_length=1, max_length=500, description="what was seen; never a name")
    category: ReportCategory | None = Field(
        default=None, description="student_at_risk only: the report's category"
    )
    deadline_days: int | None = Field(
        default=None, ge=1, le=90, description="hazard only: days to fix it (default 7)"
    )


class VideoCheckCreate(Body):
    """A school's cameras watched today (or on `day`, in the station's time zone)."""

    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    day: Day | None = Field(default=None, description="the station's local date; today if absent")
    findings: list[Finding] = Field(default_factory=list, max_length=20)


class FindingView(BaseModel):
    id: str
    kind: FindingKind
    note: str
    category: ReportCategory | None = None
    report_id: str | None = None  # the concern report school_liaison files
    notice_id: str | None = None  # the rectification notice


class VideoCheckView(BaseModel):
    id: str
    day: date
    school_id: str
    officer_id: str
    checked_at: datetime
    findings: list[FindingView]


class VideoDayView(BaseModel):
    """One day's log: every configured school, checked or not."""

    day: date
    schools: int
    checked: list[VideoCheckView]
    missing: list[str]
    findings: int
    missing_alerted_at: datetime | None = None


class VideoDaySummary(BaseModel):
    day: date
    schools: int
    checked: int
    complete: bool
    findings: int
    missing_alerted_at: datetime | None = None


# --- events ------------------------------------------------------------------------------------


class VideoCheckRecorded(EventData):
    TYPE: ClassVar[str] = "patrol.video.checked"

    check_id: str
    day: date
    school_id: str
    officer_id: str
    finding_kinds: tuple[FindingKind, ...]
    checked_at: datetime


class VideoConcernRaised(EventData):
    """A student seen at risk: school_liaison files the concern report `report_id`."""

    TYPE: ClassVar[str] = "patrol.video.concern_raised"

    finding_id: str
    report_id: str
    school_id: str
    category: ReportCategory
    note: str
    officer_id: str
    seen_at: datetime
