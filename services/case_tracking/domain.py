"""Pure rules of case_tracking: one case per child, risk, the tasks a report starts, closing.
Who may see and do what is in access.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel

from shared.contracts.cases import (
    Agency,
    CaseStatus,
    ChronologyEntry,
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
    categories: list[ReportCategory]
    opened_at: Timestamp
    updated_at: Timestamp
    closed_at: Timestamp | None = None
    identity_review: bool = False
    chronology: list[ChronologyEntry]


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

# How soon each agency must act, by risk level.
RESPONSE_TIME: dict[Agency, dict[Severity, timedelta]] = {
    Agency.police: {
        Severity.critical: timedelta(minutes=30),
        Severity.high: timedelta(hours=4),
        Severity.medium: timedelta(hours=24),
        Severity.low: timedelta(hours=72),
    },
    Agency.social_work: {
        Severity.critical: timedelta(hours=4),
        Severity.high: timedelta(hours=24),
        Severity.medium: timedelta(hours=72),
        Severity.low: timedelta(days=7),
    },
}


def higher(a: Severity, b: Severity) -> Severity:
    return a if a.rank >= b.rank else b


def due_at(agency: Agency, risk: Severity, *, now: datetime) -> datetime:
    return now + RESPONSE_TIME[agency][risk]


@dataclass(frozen=True)
class Intake:
    case: Case
    tasks: list[Task]
    opened: bool
    identity_flagged: bool = False


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
) -> Intake:
    """A report joins the child's open case (or opens one) and starts a police and a social task."""
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
                "categories": list(dict.fromkeys([*case.categories, report.category])),
                "updated_at": now,
                "chronology": [*case.chronology, entry],
            }
        )
    police_plan, social_plan = PLANS[report.category]
    risk = case.risk_level
    tasks = [
        Task(
            id=new_task_ids[0],
            kind=police_plan.kind,
            title=police_plan.title,
            agency=Agency.police,
            assignee_user_id=report.community_officer_id,
            assignee_org_id=None,
            risk_level=risk,
            due_at=due_at(Agency.police, risk, now=now),
            created_at=now,
            case_id=case.id,
            child_ref=case.child_ref,
            report_id=report.report_id,
            school_id=report.school_id,
        ),
        Task(
            id=new_task_ids[1],
            kind=social_plan.kind,
            title=social_plan.title,
            agency=Agency.social_work,
            assignee_user_id=None,
            assignee_org_id=report.social_org_id,
            risk_level=risk,
            due_at=due_at(Agency.social_work, risk, now=now),
            created_at=now,
            case_id=case.id,
            child_ref=case.child_ref,
            report_id=report.report_id,
            school_id=report.school_id,
        ),
    ]
    case.chronology.extend(
        ChronologyEntry(at=now, kind="task_created", text=t.title, ref=t.id) for t in tasks
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
    return Intake(case=case, tasks=tasks, opened=opened, identity_flagged=report.identity_mismatch)


def acknowledge(case: Case, task: Task, *, by: str, now: datetime) -> tuple[Case, Task]:
    task = task.model_copy(
        update={"status": TaskStatus.acknowledged, "acknowledged_at": now, "acknowledged_by": by}
    )
    entry = ChronologyEntry(
        at=now, kind="task_acknowledged", text=f"{task.title}: acknowledged by {by}", ref=task.id
    )
    case = case.model_copy(update={"updated_at": now, "chronology": [*case.chronology, entry]})
    return case, task


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
