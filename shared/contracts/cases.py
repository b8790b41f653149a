"""case_tracking's contracts: cases, tasks and their events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.school import ReportCategory, Severity
from shared.events import EventData


class Agency(StrEnum):
    police = "police"
    social_work = "social_work"


class TaskStatus(StrEnum):
    open = "open"
    acknowledged = "acknowledged"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class ChronologyEntry(BaseModel):
    at: datetime
    kind: str
    text: str
    ref: str | None = None


class CaseView(BaseModel):
    id: str
    child_ref: str
    status: CaseStatus
    risk_level: Severity
    school_ids: list[str]
    report_ids: list[str]
    categories: list[ReportCategory]
    opened_at: datetime
    updated_at: datetime
    closed_at: datetime | None = None
    identity_review: bool = Field(
        default=False,
        description="a report gave this child's ID number with other identity details: "
        "the supervisor checks who the child is",
    )
    chronology: list[ChronologyEntry]


class TaskFeedback(BaseModel):
    """A task started by the caller's school's report: what is done and whether it was taken up."""

    id: str
    report_id: str
    agency: Agency
    kind: str
    title: str
    status: TaskStatus
    due_at: datetime
    created_at: datetime
    acknowledged_at: datetime | None = None


class TaskFeedbackView(TaskFeedback):
    """A task as school staff see it: no assignee, no acknowledging user."""

    case_id: str
    child_ref: str  # the gateway audits every answer that names a child


class CaseFeedbackView(BaseModel):
    """A case as school staff see it: feedback on their own school's reports, nothing more.

    No other school's reports, categories or tasks, no chronology (other agencies' notes);
    the case's status and risk level, and the tasks the school's own reports started.
    """

    id: str
    child_ref: str
    status: CaseStatus
    risk_level: Severity
    closed_at: datetime | None = None
    report_ids: list[str] = Field(description="the caller's school's reports in this case")
    tasks: list[TaskFeedback] = Field(description="the tasks those reports started")


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=500)]


class TaskView(BaseModel):
    id: str
    case_id: str
    child_ref: str  # so every answer about a task names its child (the gateway audits it)
    report_id: str
    kind: str
    title: str
    agency: Agency
    assignee_user_id: str | None
    assignee_org_id: str | None
    risk_level: Severity
    due_at: datetime
    status: TaskStatus
    created_at: datetime
    acknowledged_at: datetime | None = None
    acknowledged_by: str | None = None


class CaseOpened(EventData):
    TYPE: ClassVar[str] = "case.opened"

    case_id: str
    child_ref: str
    school_id: str
    risk_level: Severity


class CaseUpdated(EventData):
    TYPE: ClassVar[str] = "case.updated"

    case_id: str
    report_id: str
    risk_level: Severity


class ReportLinked(EventData):
    TYPE: ClassVar[str] = "case.report.linked"

    report_id: str
    case_id: str


class TaskCreated(EventData):
    TYPE: ClassVar[str] = "task.created"

    task_id: str
    case_id: str
    school_id: str
    kind: str
    title: str
    agency: Agency
    assignee_user_id: str | None
    assignee_org_id: str | None
    risk_level: Severity
    due_at: datetime


class TaskAcknowledged(EventData):
    TYPE: ClassVar[str] = "task.acknowledged"

    task_id: str
    case_id: str
    acknowledged_by: str
    acknowledged_at: datetime


class CaseIdentityFlagged(EventData):
    """A report joined the case with identity details that differ from the child's sealed ones
    (same ID number, other name or date of birth): the supervisor checks. No names here."""

    TYPE: ClassVar[str] = "case.identity.flagged"

    case_id: str
    report_id: str
    school_id: str


class CaseClosed(EventData):
    """The child's case is closed: a new report opens a new case; retention starts counting."""

    TYPE: ClassVar[str] = "case.closed"

    case_id: str
    child_ref: str
    closed_at: datetime
