"""Pure rules of case_tracking: one case per child, risk, the tasks a report starts, closing.
Who may see and do what is in access.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from pydantic import BaseModel

from services.case_tracking.deadlines import Deadlines
from shared.contracts.cases import (
    Agency,
    CaseStatus,
    ChronologyEntry,
    Escalation,
    TaskStatus,
)
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.events import Timestamp


class Case(BaseModel):
    id: str
    child_ref: str
    status: CaseStatus = CaseStatus.open
    risk_level: Severity
    school_ids: list[str]
    org_ids: list[str]
    officer_ids: list[str]
    report_ids: list[str]
    # (school, report) for each report in the case, in order: what a school's staff see as
    # their reports (a repeat report joins the open tasks and starts none, so tasks do not
    # tell). Pairs, not a map: a school id may hold a dot, which MongoDB keys must not. Empty
    # on cases from before it: the feedback then lists what the school's tasks name.
    school_reports: list[tuple[str, str]] = []
    categories: list[ReportCategory]
    opened_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None = None
    identity_review: bool = False
    # The store keeps the chronology as rows, appended only, so that a change costs the same
    # however long the history (store.py). `chronology_len`: the entries stored before those in
    # `chronology`. A case loaded for a change carries none: `chronology` is then what the
    # change appends, and saving it appends those. A case read to be shown carries the first
    # page of them (store.with_chronology); the chronology's own list pages through the rest.
    chronology_len: int = 0
    chronology: list[ChronologyEntry] = []


class Task(BaseModel):
    id: str
    case_id: str
    child_ref: str
    report_id: str
    school_id: str
    kind: str
    title: str
    agency: Agency
    assignee_user_id: str | None
    assignee_org_id: str | None
    risk_level: Severity
    due_at: Timestamp
    status: TaskStatus = TaskStatus.open
    created_at: Timestamp
    acknowledged_at: Timestamp | None = None
    acknowledged_by: str | None = None
    # The clock (ladder.py); None on tasks from before it.
    ack_due_at: Timestamp | None = None
    escalate_at: Timestamp | None = None
    escalation: Escalation | None = None
    overdue_alerted: bool = False
    started_at: Timestamp | None = None
    finished_at: Timestamp | None = None
    finished_by: str | None = None
    reason: str | None = None  # why declined or cancelled (the chronology has it too)
    outcome_sealed: str | None = None  # the outcome note, sealed (notes.py)
    report_ids: list[str] = []  # every report that asked for this work, the first included


# Tasks a repeat report can join: taken up or not, but not finished.
UNFINISHED = frozenset({TaskStatus.open, TaskStatus.acknowledged, TaskStatus.in_progress})


@dataclass(frozen=True)
class TaskPlan:
    kind: str
    title: str


# For each concern: what the police do, what the social worker does.
PLANS: dict[ReportCategory, tuple[TaskPlan, TaskPlan]] = {
    ReportCategory.self_harm: (
        TaskPlan("home_visit", "Immediate home visit: child at risk of self-harm"),
        TaskPlan("crisis_counselling", "Crisis counselling for the child and family"),
    ),
    ReportCategory.bullying_victim: (
        TaskPlan("school_visit", "Visit the school: protect the bullied student"),
        TaskPlan("counselling", "Counselling for the bullied student"),
    ),
    ReportCategory.bullying_perpetrator: (
        TaskPlan(
            "education_talk", "Education talk with the student and guardians, with the school"
        ),
        TaskPlan("behaviour_counselling", "Behaviour counselling and follow-up"),
    ),
    ReportCategory.truancy: (
        TaskPlan("home_visit", "Home visit: find out why the student is missing school"),
        TaskPlan("family_work", "Family work on school attendance"),
    ),
    ReportCategory.internet_addiction: (
        TaskPlan("guardian_talk", "Talk with guardians about supervision; check internet cafés"),
        TaskPlan("counselling", "Counselling on internet use"),
    ),
    ReportCategory.gambling: (
        TaskPlan("venue_check", "Find and check the venue where the student gambles"),
        TaskPlan("counselling", "Counselling on gambling"),
    ),
    ReportCategory.teacher_conflict: (
        TaskPlan("mediation", "Mediate between student, teacher and guardians"),
        TaskPlan("counselling", "Counselling for the student"),
    ),
    ReportCategory.psychological_distress: (
        TaskPlan("welfare_check", "Welfare check on the student"),
        TaskPlan("counselling", "Psychological counselling referral"),
    ),
    ReportCategory.family_problem: (
        TaskPlan("home_visit", "Home visit: assess the family situation"),
        TaskPlan("family_work", "Family work with guardians"),
    ),
}


def higher(a: Severity, b: Severity) -> Severity:
    return a if a.rank >= b.rank else b


@dataclass(frozen=True)
class Intake:
    case: Case
    tasks: list[Task]  # new
    opened: bool
    identity_flagged: bool = False
    # Open tasks of the same kind that took the report instead, and whether each was raised.
    joined: list[tuple[Task, bool]] = field(default_factory=list)


IDENTITY_DIFFERS = "identity details differ"


def _add(items: list[str], item: str) -> list[str]:
    return items if item in items else [*items, item]


def take_report(
    case: Case | None,
    report: ReportFiled,
    *,
    now: datetime,
    new_case_id: str,
    new_task_ids: tuple[str, str],
    deadlines: Deadlines | None = None,
    open_tasks: Sequence[Task] = (),
) -> Intake:
    """A report joins the child's open case (or opens one) and starts a police and a social
    task, unless the case has an unfinished task of that kind for that agency: then that task
    takes the report (the repeat rule, `add_report`)."""
    deadlines = deadlines or Deadlines()
    opened = case is None
    entry = ChronologyEntry(
        at=now,
        kind="report_filed",
        text=f"Concern report from {report.school_id}: {report.category.value}, "
        f"severity {report.severity.value}",
        ref=report.report_id,
    )
    if case is None:
        case = Case(
            id=new_case_id,
            child_ref=report.child_ref,
            risk_level=report.severity,
            school_ids=[report.school_id],
            org_ids=[report.social_org_id],
            officer_ids=[report.community_officer_id],
            report_ids=[report.report_id],
            school_reports=[(report.school_id, report.report_id)],
            categories=[report.category],
            opened_at=now,
            updated_at=now,
            chronology=[entry],
        )
    else:
        case = case.model_copy(
            update={
                "risk_level": higher(case.risk_level, report.severity),
                "school_ids": _add(case.school_ids, report.school_id),
                "org_ids": _add(case.org_ids, report.social_org_id),
                "officer_ids": _add(case.officer_ids, report.community_officer_id),
                "report_ids": _add(case.report_ids, report.report_id),
                "school_reports": list(
                    dict.fromkeys([*case.school_reports, (report.school_id, report.report_id)])
                ),
                "categories": list(dict.fromkeys([*case.categories, report.category])),
                "updated_at": now,
                "chronology": [*case.chronology, entry],
            }
        )
    risk = case.risk_level
    tasks: list[Task] = []
    joined: list[tuple[Task, bool]] = []
    plans = zip(PLANS[report.category], Agency, new_task_ids, strict=True)
    for plan, agency, task_id in plans:
        same = [t for t in open_tasks if (t.kind, t.agency) == (plan.kind, agency)]
        if same and same[0].status in UNFINISHED:
            task, raised = add_report(
                same[0], report_id=report.report_id, risk=risk, deadlines=deadlines, now=now
            )
            joined.append((task, raised))
            continue
        clock = deadlines.clock(agency, risk, start=now)
        police = agency is Agency.police
        tasks.append(
            Task(
                id=task_id,
                kind=plan.kind,
                title=plan.title,
                agency=agency,
                assignee_user_id=report.community_officer_id if police else None,
                assignee_org_id=None if police else report.social_org_id,
                risk_level=risk,
                due_at=clock.due_at,
                ack_due_at=clock.ack_due_at,
                escalate_at=clock.escalate_at,
                created_at=now,
                case_id=case.id,
                child_ref=case.child_ref,
                report_id=report.report_id,
                report_ids=[report.report_id],
                school_id=report.school_id,
            )
        )
    case.chronology.extend(
        ChronologyEntry(at=now, kind="task_created", text=t.title, ref=t.id) for t in tasks
    )
    case.chronology.extend(
        ChronologyEntry(
            at=now,
            kind="task_report_added",
            text=f"{t.title}: report {report.report_id} added" + (", risk raised" if up else ""),
            ref=t.id,
        )
        for t, up in joined
    )
    if report.identity_mismatch:
        # The report still joins (the ID number decides identity); the supervisor checks who
        # the child is. Which details differ is school_liaison's to know, not the case's.
        case.identity_review = True
        case.chronology.append(
            ChronologyEntry(
                at=now, kind="identity_review", text=IDENTITY_DIFFERS, ref=report.report_id
            )
        )
    return Intake(
        case=case,
        tasks=tasks,
        opened=opened,
        identity_flagged=report.identity_mismatch,
        joined=joined,
    )


def add_report(
    task: Task, *, report_id: str, risk: Severity, deadlines: Deadlines, now: datetime
) -> tuple[Task, bool]:
    """The repeat rule: an unfinished task of the report's kind takes the report; if the risk
    rose, it takes the higher risk and each deadline of that risk that comes sooner (a
    deadline never moves later). Returns the task and whether it was raised."""
    reports = task.report_ids or [task.report_id]
    update: dict[str, object] = {"report_ids": list(dict.fromkeys([*reports, report_id]))}
    raised = risk.rank > task.risk_level.rank
    if raised:
        clock = deadlines.clock(task.agency, risk, start=now)
        update["risk_level"] = risk
        update["due_at"] = min(task.due_at, clock.due_at)
        if task.status is TaskStatus.open and task.ack_due_at and task.escalate_at:
            update["ack_due_at"] = min(task.ack_due_at, clock.ack_due_at)
            update["escalate_at"] = min(task.escalate_at, clock.escalate_at)
    return task.model_copy(update=update), raised


def close_case(case: Case, *, by: str, reason: str, now: datetime) -> Case:
    entry = ChronologyEntry(at=now, kind="case_closed", text=f"Closed by {by}: {reason}")
    return case.model_copy(
        update={
            "status": CaseStatus.closed,
            "closed_at": now,
            "updated_at": now,
            "chronology": [*case.chronology, entry],
        }
    )


# Tasks the station dashboard counts as urgent.
URGENT = frozenset({Severity.critical, Severity.high})
