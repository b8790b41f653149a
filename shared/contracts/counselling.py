"""Counselling at the liaison school (school_liaison): the list, its sessions, their events.

The child is named only by its pseudonym (`child_ref`) outside school_liaison; the student's
details and each session's note are sealed there and shown per role, absent where not needed.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.contracts.school import StudentDetails, StudentIn
from shared.events import EventData, Instant


class CounsellingReason(StrEnum):
    truancy = "truancy"
    conflict = "conflict"
    addiction = "addiction"
    psychological_imbalance = "psychological_imbalance"
    bullying = "bullying"
    family = "family"
    other = "other"


class CounsellorRole(StrEnum):
    police_officer = "police_officer"
    social_worker = "social_worker"


class SessionStatus(StrEnum):
    scheduled = "scheduled"
    held = "held"
    missed = "missed"
    cancelled = "cancelled"  # still scheduled when the student came off the list


class RemovalReason(StrEnum):
    """Why a student came off the list (a code: the why in words belongs in a session note)."""

    improved = "improved"
    left_school = "left_school"
    referred = "referred"  # to a specialist service outside the programme
    added_in_error = "added_in_error"
    other = "other"


STATE_SCALE = "1 acute distress … 3 unsettled … 5 doing well"


class CounsellingEntryCreate(Body):
    """A student put on the list: by the school (`student`), or from a case (`child_ref`);
    exactly one of the two (else a 422 naming `child_ref`)."""

    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    reason: CounsellingReason
    student: StudentIn | None = Field(default=None, description="entered by school staff")
    child_ref: str | None = Field(
        default=None, max_length=64, description="the pseudonym of a child with a case"
    )


class CounsellingEntryView(BaseModel):
    """A list entry as the caller's role may see it: `student` absent unless needed."""

    id: str
    school_id: str
    reason: CounsellingReason
    child_ref: str
    added_by: str
    added_at: datetime
    latest_state: int | None = Field(default=None, description=STATE_SCALE)
    student: StudentDetails | None = Field(default=None, description="absent unless needed")
    removed_at: datetime | None = Field(default=None, description="off the list since")
    removed_by: str | None = None
    removal_reason: RemovalReason | None = None


class EntryRemoval(Body):
    model_config = ConfigDict(extra="forbid")

    reason: RemovalReason


class SessionSchedule(Body):
    model_config = ConfigDict(extra="forbid")

    scheduled_at: Instant
    counsellor_id: str = Field(min_length=1, max_length=100)
    counsellor_role: CounsellorRole
    place: str = Field(min_length=1, max_length=200)


class CounsellorScope(Body):
    """The counsellor's account as the identity directory (the gateway's) holds it: the
    gateway checked it is active and of `role`; school_liaison checks it serves the school."""

    model_config = ConfigDict(extra="forbid")

    role: CounsellorRole
    school_ids: list[str] = Field(default_factory=list)  # an officer's beat
    org_id: str | None = None  # a social worker's organisation


class CheckedSchedule(SessionSchedule):
    """A session as the gateway passes it on, with the counsellor's scope."""

    counsellor: CounsellorScope


class SessionRecord(Body):
    """A held session's record. `acute_risk` files a concern report into the core flow."""

    model_config = ConfigDict(extra="forbid")

    attended_by: list[str] = Field(
        default_factory=list, max_length=20, description="who took part besides the student"
    )
    state: int = Field(ge=1, le=5, description=STATE_SCALE)
    acute_risk: bool = False
    note: str = Field(min_length=1, max_length=5000)


class SessionView(BaseModel):
    id: str
    entry_id: str
    school_id: str
    child_ref: str
    counsellor_id: str
    counsellor_role: CounsellorRole
    place: str
    scheduled_at: datetime
    status: SessionStatus
    attended_by: list[str] = []
    state: int | None = None
    acute_risk: bool = False
    report_id: str | None = Field(default=None, description="the concern report it filed")
    recorded_at: datetime | None = None
    note: str | None = Field(default=None, description="absent unless the role needs it")


# --- events (never a name, a note or an ID number) ---------------------------------------------


class CounsellingEntryAdded(EventData):
    TYPE: ClassVar[str] = "school.counselling.entry_added"

    entry_id: str
    school_id: str
    child_ref: str
    reason: CounsellingReason
    added_by: str
    added_at: datetime


class CounsellingEntryRemoved(EventData):
    TYPE: ClassVar[str] = "school.counselling.entry_removed"

    entry_id: str
    school_id: str
    child_ref: str
    reason: RemovalReason
    removed_by: str
    removed_at: datetime


class CounsellingSessionScheduled(EventData):
    TYPE: ClassVar[str] = "school.counselling.session_scheduled"

    session_id: str
    entry_id: str
    school_id: str
    child_ref: str
    counsellor_id: str
    scheduled_at: datetime


class CounsellingSessionRecorded(EventData):
    TYPE: ClassVar[str] = "school.counselling.session_recorded"

    session_id: str
    entry_id: str
    school_id: str
    child_ref: str
    state: int
    acute_risk: bool
    report_id: str | None
    recorded_at: datetime


class CounsellingSessionMissed(EventData):
    TYPE: ClassVar[str] = "school.counselling.session_missed"

    session_id: str
    entry_id: str
    school_id: str
    child_ref: str
    counsellor_id: str
    reported_by: str  # a user, or "sweep" when nobody recorded the session in time
    at: datetime
