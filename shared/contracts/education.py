"""Legal-education events and drills at schools (school_liaison): who took part, the term
plan, and their events. No child in any of it."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from shared.contracts.body import Body
from shared.events import Day, EventData

TERM = r"^20[0-9]{2}-(spring|autumn)$"


class Topic(StrEnum):
    anti_bullying = "anti_bullying"
    anti_fraud = "anti_fraud"
    minors_protection_law = "minors_protection_law"
    emergency_drill = "emergency_drill"
    drug_prevention = "drug_prevention"
    traffic_safety = "traffic_safety"
    internet_safety = "internet_safety"


class ParticipantRole(StrEnum):
    police_officer = "police_officer"
    grid_worker = "grid_worker"
    safety_volunteer = "safety_volunteer"
    social_worker = "social_worker"


class Participant(Body):
    model_config = ConfigDict(extra="forbid", frozen=True)

    user_id: str = Field(min_length=1, max_length=100)
    role: ParticipantRole


class EducationEventCreate(Body):
    model_config = ConfigDict(extra="forbid")

    school_id: str = Field(min_length=1, max_length=40)
    term: str = Field(pattern=TERM, description="e.g. 2026-spring")
    topic: Topic
    held_on: Day
    participants: list[Participant] = Field(min_length=1, max_length=50)
    audience: int = Field(ge=1, le=10000, description="students who attended")


class EducationEventView(BaseModel):
    id: str
    school_id: str
    term: str
    topic: Topic
    held_on: Day
    participants: list[Participant]
    audience: int
    recorded_by: str
    recorded_at: datetime
    confirmed_by: str | None = None
    confirmed_at: datetime | None = None


class TermPlanRow(BaseModel):
    """One school in a term: the topics it has had so far (none yet: an empty list)."""

    school_id: str
    term: str
    events: int
    audience: int
    topics: list[Topic]
    missing_topics: list[Topic]


class EducationEventRecorded(EventData):
    TYPE: ClassVar[str] = "school.education.event_recorded"

    event_id: str
    school_id: str
    term: str
    topic: Topic
    held_on: Day
    audience: int
    participants_by_role: dict[str, int]
    recorded_by: str


class EducationEventConfirmed(EventData):
    TYPE: ClassVar[str] = "school.education.event_confirmed"

    event_id: str
    school_id: str
    confirmed_by: str
    confirmed_at: datetime
