"""case_tracking's contracts: cases, tasks and their events."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from shared.contracts.body import VISIBLE, Body
from shared.contracts.school import ReportCategory, Severity
from shared.events import Carrier, EventData


class Agency(StrEnum):
    police = "police"
    social_work = "social_work"


class TaskStatus(StrEnum):
    """open → acknowledged → in_progress → done; declined (back to the desk); cancelled."""

    open = "open"
    acknowledged = "acknowledged"
    in_progress = "in_progress"
    done = "done"
    declined = "declined"
    cancelled = "cancelled"


class Escalation(StrEnum):
    """Who a missed acknowledgement was escalated to, in ladder order."""

    desk = "desk"
    supervisor = "supervisor"


class TimerStep(StrEnum):
    """The durable timers of a task: the ladder's two rungs, and its due time."""

    desk = "desk"
    supervisor = "supervisor"
    overdue = "overdue"


class CaseStatus(StrEnum):
    open = "open"
    closed = "closed"


class ChronologyEntry(BaseModel):
    at: datetime
    kind: str
    text: str
    ref: str | None = None


# A case's chronology has no end (1,800 entries after 600 reports): a case's answer carries this
# many of its entries, the chronology's own list the rest.
CHRONOLOGY_PAGE = 100


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
    chronology: list[ChronologyEntry] = Field(
        description=f"the chronology's first page, oldest first (at most {CHRONOLOGY_PAGE} "
        "entries); the rest from GET /v1/cases/{case_id}/chronology"
    )
    chronology_after: str | None = Field(
        description="an opaque cursor: pass it as `after` to GET /v1/cases/{case_id}/chronology "
        "for the entries after `chronology`; null when `chronology` is the whole of it"
    )


class ChronologyEntryView(ChronologyEntry):
    """An entry of a case's chronology, in a page of GET /v1/cases/{case_id}/chronology."""

    # Every entry names its child: the gateway audits a read by the child it shows.
    child_ref: str = Field(description="the case's child")


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


class CaseClose(Body):
    model_config = ConfigDict(extra="forbid")

    reason: Annotated[
        str, StringConstraints(strip_whitespace=True, pattern=VISIBLE, min_length=1, max_length=500)
    ]


Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, pattern=VISIBLE, min_length=1, max_length=500)
]


class TaskReason(Body):
    """Why a task is declined (back to the desk) or cancelled: in the case's chronology only."""

    model_config = ConfigDict(extra="forbid")

    reason: Reason


class TaskDone(Body):
    model_config = ConfigDict(extra="forbid")

    outcome: Annotated[
        str,
        StringConstraints(strip_whitespace=True, pattern=VISIBLE, min_length=1, max_length=5000),
    ] = Field(description="what was done and found: sealed at rest, shown to casework only")


class TaskReassign(Body):
    """The new assignee: an officer for a police task, an organisation for a social one."""

    model_config = ConfigDict(extra="forbid")

    assignee_user_id: str | None = Field(default=None, min_length=1, max_length=80)
    assignee_org_id: str | None = Field(default=None, min_length=1, max_length=80)
    reason: Reason | None = None


class Reassignment(TaskReassign):
    """A reassignment as the gateway passes it on: with the new officer's beat, which the
    identity directory holds (the gateway checked the account exists and has the role)."""

    assignee_school_ids: list[str] = Field(default_factory=list)


class TaskView(BaseModel):
    id: str
    case_id: str
    child_ref: str  # so every answer about a task names its child (the gateway audits it)
    report_id: str
    school_id: str | None = Field(default=None, description="the school of its first report")
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
    ack_due_at: datetime | None = Field(default=None, description="acknowledge before this")
    escalation: Escalation | None = Field(default=None, description="how far it was escalated")
    started_at: datetime | None = None
    finished_at: datetime | None = Field(default=None, description="done, declined or cancelled")
    finished_by: str | None = None
    reason: str | None = Field(default=None, description="why it was declined or cancelled")
    report_ids: list[str] = Field(default=[], description="every report that asked for it")


class TaskDetailView(TaskView):
    """One task, with its outcome note (unsealed for casework; absent once erased)."""

    outcome: str | None = None


class CaseOpened(EventData):
    TYPE: ClassVar[str] = "case.opened"

    case_id: str
    child_ref: str
    school_id: str
    risk_level: Severity
    # The report's social-work organisation: whoever scopes events by organisation (the
    # stream, webhooks) learns it from the case's own first event, not from a report event
    # on another stream that a reader may take later.
    social_org_id: str | None = None


class CaseUpdated(EventData):
    TYPE: ClassVar[str] = "case.updated"

    case_id: str
    report_id: str
    risk_level: Severity
    school_id: str | None = None  # the new report's, as on case.opened
    social_org_id: str | None = None


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


class IntakeRecorded(Carrier):
    """Filed reports taken into their children's cases, as one message: for each report in
    turn, the events its intake announces, in order: `case.opened` or `case.updated`,
    `case.report.linked`, a `task.created` per new task, a `task.report.added` per open task
    the report joined, and `case.identity.flagged` when the child's identity did not match.
    One report's intake, or those of the reports case_tracking took in one transaction (at most
    200 events a message). One stored message and one delivery per consumer instead of four or
    more a report (docs/performance.md, sessions 11 and 27)."""

    TYPE: ClassVar[str] = "case.intake.recorded"


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


class TaskStarted(EventData):
    TYPE: ClassVar[str] = "task.started"

    task_id: str
    case_id: str
    started_by: str
    started_at: datetime


class TaskCompleted(EventData):
    """Done. The outcome note stays sealed in case_tracking: never in an event."""

    TYPE: ClassVar[str] = "task.completed"

    task_id: str
    case_id: str
    completed_by: str
    completed_at: datetime


class TaskClosedEarly(EventData):
    """Base of a declined or cancelled task; the reason stays in the case's chronology."""

    task_id: str
    case_id: str
    title: str
    by: str
    at: datetime
    assignee_user_id: str | None
    assignee_org_id: str | None


class TaskDeclined(TaskClosedEarly):
    """The assignee gave it back: the desk reassigns it."""

    TYPE: ClassVar[str] = "task.declined"


class TaskCancelled(TaskClosedEarly):
    TYPE: ClassVar[str] = "task.cancelled"


class TaskReassigned(EventData):
    TYPE: ClassVar[str] = "task.reassigned"

    task_id: str
    case_id: str
    title: str
    risk_level: Severity
    by: str
    previous_user_id: str | None
    previous_org_id: str | None
    assignee_user_id: str | None
    assignee_org_id: str | None
    ack_due_at: datetime
    due_at: datetime


class TaskEscalated(EventData):
    """Nobody acknowledged the task in time: the desk, then the supervisor, is told."""

    TYPE: ClassVar[str] = "task.escalated"

    task_id: str
    case_id: str
    title: str
    risk_level: Severity
    level: Escalation
    ack_due_at: datetime


class TaskOverdue(EventData):
    TYPE: ClassVar[str] = "task.overdue"

    task_id: str
    case_id: str
    title: str
    assignee_user_id: str | None
    assignee_org_id: str | None
    due_at: datetime


class TaskReportAdded(EventData):
    """A further report asked for the same work: the open task took it (maybe more urgent)."""

    TYPE: ClassVar[str] = "task.report.added"

    task_id: str
    case_id: str
    report_id: str
    title: str
    risk_level: Severity
    assignee_user_id: str | None
    assignee_org_id: str | None
    ack_due_at: datetime | None
    due_at: datetime
    raised: bool


class TaskTimerDue(EventData):
    """A task's durable timer fired (scheduled by case_tracking to itself, shared/timers.py)."""

    TYPE: ClassVar[str] = "timer.task.due"

    task_id: str
    step: TimerStep
    at: datetime


# --- the assistance ledger (帮扶台账) -----------------------------------------------------------


class ContactType(StrEnum):
    home_visit = "home_visit"
    school_visit = "school_visit"
    office_visit = "office_visit"
    phone = "phone"
    other = "other"


class MonitoringStart(Body):
    """Put a case under monitoring (or change who follows it up, how often)."""

    model_config = ConfigDict(extra="forbid")

    responsible_user_id: str = Field(min_length=1, max_length=80)
    interval_days: int = Field(ge=1, le=365, description="a follow-up every this many days")


class FollowUpRecord(Body):
    model_config = ConfigDict(extra="forbid")

    contact_type: ContactType
    outcome: Annotated[
        str,
        StringConstraints(strip_whitespace=True, pattern=VISIBLE, min_length=1, max_length=5000),
    ] = Field(description="what was found: sealed at rest like a task's outcome")


class LedgerEntryView(BaseModel):
    """A monitored child (by pseudonym) and when the next follow-up is due."""

    case_id: str
    child_ref: str
    responsible_user_id: str
    interval_days: int
    started_at: datetime
    next_due_at: datetime
    follow_ups: int
    last_follow_up_at: datetime | None = None
    last_contact_type: ContactType | None = None


class CaseMonitored(EventData):
    TYPE: ClassVar[str] = "case.monitored"

    case_id: str
    responsible_user_id: str
    interval_days: int
    next_due_at: datetime


class FollowUpRecorded(EventData):
    """A follow-up was held; its outcome note stays sealed in case_tracking."""

    TYPE: ClassVar[str] = "case.followup.recorded"

    case_id: str
    by: str
    contact_type: ContactType
    next_due_at: datetime


class FollowUpOverdue(EventData):
    TYPE: ClassVar[str] = "case.followup.overdue"

    case_id: str
    responsible_user_id: str
    due_at: datetime


class FollowUpTimerDue(EventData):
    """A monitored case's follow-up timer fired (case_tracking to itself, shared/timers.py)."""

    TYPE: ClassVar[str] = "timer.followup.due"

    case_id: str
    at: datetime


# --- dispositions and the risk review -----------------------------------------------------------


class DispositionKind(StrEnum):
    education_with_school = "education_with_school"
    detention_not_executed = "detention_not_executed"  # decided, not executed: the child's age
    counselling_referral = "counselling_referral"
    family_supervision = "family_supervision"
    other = "other"


class DispositionRecord(Body):
    model_config = ConfigDict(extra="forbid")

    kind: DispositionKind
    note: Annotated[
        str,
        StringConstraints(strip_whitespace=True, pattern=VISIBLE, min_length=1, max_length=2000),
    ] = Field(description="about the child: sealed at rest, never in an event")


class DispositionView(BaseModel):
    id: str
    case_id: str
    child_ref: str
    kind: DispositionKind
    at: datetime
    by: str


class DispositionCounts(BaseModel):
    """How many dispositions of each kind the station recorded."""

    counts: dict[DispositionKind, int]


class RiskReview(Body):
    model_config = ConfigDict(extra="forbid")

    risk_level: Severity
    reason: Reason


class DispositionRecorded(EventData):
    TYPE: ClassVar[str] = "case.disposition.recorded"

    disposition_id: str
    case_id: str
    kind: DispositionKind
    by: str


class CaseRiskReviewed(EventData):
    """The supervisor set the case's risk up or down; the reason is in the chronology."""

    TYPE: ClassVar[str] = "case.risk.reviewed"

    case_id: str
    previous: Severity
    risk_level: Severity
    by: str
