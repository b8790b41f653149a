"""case_tracking's pure rules: one case per child, risk, the tasks a report starts, access."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.case_tracking.access import may_acknowledge, may_close, may_see_case, task_filter
from services.case_tracking.deadlines import RESPONSE_TIME
from services.case_tracking.domain import (
    PLANS,
    Case,
    Intake,
    Task,
    close_case,
    take_report,
)
from services.case_tracking.lifecycle import acknowledge
from shared.contracts.cases import Agency, CaseStatus, TaskStatus
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)
T1 = T0 + timedelta(hours=2)
CHILD = "child-abc"


def report(
    report_id: str = "rep-1",
    *,
    category: ReportCategory = ReportCategory.self_harm,
    severity: Severity = Severity.critical,
    school_id: str = "school-1",
    officer: str = "officer-1",
    org: str = "org-1",
    identity_mismatch: bool = False,
) -> ReportFiled:
    return ReportFiled(
        report_id=report_id,
        school_id=school_id,
        category=category,
        severity=severity,
        immediate_danger=False,
        child_ref=CHILD,
        community_officer_id=officer,
        social_org_id=org,
        filed_by="teacher-1",
        filed_at=T0,
        identity_mismatch=identity_mismatch,
    )


def first(r: ReportFiled | None = None) -> Intake:
    return take_report(
        None, r or report(), now=T0, new_case_id="case-1", new_task_ids=("task-p", "task-s")
    )


def second(case: Case, r: ReportFiled) -> Intake:
    return take_report(case, r, now=T1, new_case_id="case-NEW", new_task_ids=("task-p2", "task-s2"))


# --- opening a case --------------------------------------------------------------------------


def test_first_report_opens_a_case_with_a_police_and_a_social_task() -> None:
    intake = first()
    case = intake.case
    assert intake.opened is True
    assert (case.id, case.child_ref, case.risk_level) == ("case-1", CHILD, Severity.critical)
    assert case.school_ids == ["school-1"]
    assert case.org_ids == ["org-1"]
    assert case.officer_ids == ["officer-1"]
    assert case.report_ids == ["rep-1"]
    assert case.categories == [ReportCategory.self_harm]

    police, social = intake.tasks
    assert (police.id, police.agency) == ("task-p", Agency.police)
    assert (police.assignee_user_id, police.assignee_org_id) == ("officer-1", None)
    assert (social.id, social.agency) == ("task-s", Agency.social_work)
    assert (social.assignee_user_id, social.assignee_org_id) == (None, "org-1")
    for task in intake.tasks:
        assert (task.case_id, task.report_id, task.school_id) == ("case-1", "rep-1", "school-1")
        assert task.status is TaskStatus.open
        assert task.risk_level is Severity.critical
        assert task.created_at == T0
    assert (police.kind, social.kind) == ("home_visit", "crisis_counselling")


def test_self_harm_is_due_in_30_minutes_for_police_and_4_hours_for_social_work() -> None:
    police, social = first().tasks
    assert police.due_at == T0 + timedelta(minutes=30)
    assert social.due_at == T0 + timedelta(hours=4)


@pytest.mark.parametrize("risk", list(Severity))
def test_due_times_follow_response_time(risk: Severity) -> None:
    police, social = first(report(category=ReportCategory.truancy, severity=risk)).tasks
    assert police.due_at == T0 + RESPONSE_TIME[Agency.police][risk]
    assert social.due_at == T0 + RESPONSE_TIME[Agency.social_work][risk]


def test_response_times_shrink_as_risk_rises() -> None:
    for agency in Agency:
        times = [RESPONSE_TIME[agency][s] for s in Severity]
        assert times == sorted(times, reverse=True)
        assert len(set(times)) == len(times)


def test_new_case_chronology_has_the_report_then_both_tasks() -> None:
    chronology = first().case.chronology
    assert [(e.kind, e.ref) for e in chronology] == [
        ("report_filed", "rep-1"),
        ("task_created", "task-p"),
        ("task_created", "task-s"),
    ]
    assert all(e.at == T0 for e in chronology)


@pytest.mark.parametrize("category", list(ReportCategory))
def test_every_category_has_a_plan_and_starts_two_tasks(category: ReportCategory) -> None:
    assert category in PLANS
    police_plan, social_plan = PLANS[category]
    police, social = first(report(category=category, severity=Severity.medium)).tasks
    assert (police.kind, police.title) == (police_plan.kind, police_plan.title)
    assert (social.kind, social.title) == (social_plan.kind, social_plan.title)


def test_plans_cover_exactly_the_categories() -> None:
    assert set(PLANS) == set(ReportCategory)


# --- a second report for the same child ------------------------------------------------------


def test_second_report_joins_the_case_and_raises_risk() -> None:
    case = first(report(category=ReportCategory.truancy, severity=Severity.medium)).case
    r2 = report(
        "rep-2",
        category=ReportCategory.bullying_victim,
        severity=Severity.high,
        school_id="school-2",
        officer="officer-2",
        org="org-2",
    )
    intake = second(case, r2)
    joined = intake.case
    assert intake.opened is False
    assert joined.id == "case-1"
    assert joined.risk_level is Severity.high
    assert joined.school_ids == ["school-1", "school-2"]
    assert joined.org_ids == ["org-1", "org-2"]
    assert joined.officer_ids == ["officer-1", "officer-2"]
    assert joined.report_ids == ["rep-1", "rep-2"]
    assert joined.categories == [ReportCategory.truancy, ReportCategory.bullying_victim]
    assert (joined.opened_at, joined.updated_at) == (T0, T1)
    police, social = intake.tasks
    assert (police.case_id, police.report_id, police.school_id) == ("case-1", "rep-2", "school-2")
    assert police.assignee_user_id == "officer-2"
    assert social.assignee_org_id == "org-2"


def test_second_report_never_lowers_risk_and_its_tasks_carry_the_case_risk() -> None:
    case = first().case  # self-harm: critical
    intake = second(case, report("rep-2", category=ReportCategory.truancy, severity=Severity.low))
    assert intake.case.risk_level is Severity.critical
    police, social = intake.tasks
    assert police.risk_level is social.risk_level is Severity.critical
    assert police.due_at == T1 + timedelta(minutes=30)
    assert social.due_at == T1 + timedelta(hours=4)


def test_same_school_org_officer_and_category_are_not_duplicated() -> None:
    case = first().case
    joined = second(case, report("rep-2")).case
    assert joined.school_ids == ["school-1"]
    assert joined.org_ids == ["org-1"]
    assert joined.officer_ids == ["officer-1"]
    assert joined.categories == [ReportCategory.self_harm]
    assert joined.report_ids == ["rep-1", "rep-2"]


def test_second_report_appends_to_the_chronology_without_touching_the_old_case() -> None:
    case = first().case
    before = case.model_copy(deep=True)
    joined = second(case, report("rep-2", category=ReportCategory.gambling)).case
    assert joined.chronology[:3] == before.chronology
    assert [(e.kind, e.ref, e.at) for e in joined.chronology[3:]] == [
        ("report_filed", "rep-2", T1),
        ("task_created", "task-p2", T1),
        ("task_created", "task-s2", T1),
    ]
    assert case == before


# --- acknowledgement -------------------------------------------------------------------------


def test_acknowledge_records_who_and_when_without_mutating_inputs() -> None:
    intake = first()
    case, task = intake.case, intake.tasks[0]
    case_before, task_before = case.model_copy(deep=True), task.model_copy(deep=True)

    new_case, new_task = acknowledge(case, task, by="officer-1", now=T1)

    assert new_task.status is TaskStatus.acknowledged
    assert (new_task.acknowledged_by, new_task.acknowledged_at) == ("officer-1", T1)
    assert new_case.updated_at == T1
    assert new_case.chronology[:-1] == case_before.chronology
    last = new_case.chronology[-1]
    assert (last.kind, last.ref, last.at) == ("task_acknowledged", "task-p", T1)
    assert "officer-1" in last.text
    assert case == case_before
    assert task == task_before


# --- access ----------------------------------------------------------------------------------

# The case belongs to school-1, served by org-1; its tasks are for officer-1 and org-1.
VISIBILITY = [
    (Principal(user_id="d", role=Role.dispatcher), True),
    (Principal(user_id="s", role=Role.supervisor), True),
    (Principal(user_id="x", role=Role.admin), True),
    (Principal(user_id="a", role=Role.auditor), False),
    (Principal(user_id="officer-1", role=Role.police_officer, school_ids=("school-1",)), True),
    (Principal(user_id="officer-9", role=Role.police_officer, school_ids=("school-2",)), False),
    (Principal(user_id="w", role=Role.social_worker, org_id="org-1"), True),
    (Principal(user_id="w", role=Role.social_worker, org_id="org-2"), False),
    (Principal(user_id="w", role=Role.social_worker), False),
    (Principal(user_id="t", role=Role.teacher, school_id="school-1"), True),
    (Principal(user_id="t", role=Role.teacher, school_id="school-2"), False),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-1"), True),
    (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-2"), False),
    # Campaign participants have no case access, even for a school of their grid.
    (Principal(user_id="g", role=Role.grid_worker, school_ids=("school-1",)), False),
    (Principal(user_id="v", role=Role.safety_volunteer, school_ids=("school-1",)), False),
]


def test_visibility_matrix_covers_every_role() -> None:
    assert {p.role for p, _ in VISIBILITY} == set(Role)


@pytest.mark.parametrize(("principal", "expected"), VISIBILITY)
def test_may_see_case(principal: Principal, expected: bool) -> None:
    assert may_see_case(principal, first().case) is expected


def test_officer_sees_a_case_once_it_reaches_their_beat() -> None:
    officer = Principal(user_id="officer-2", role=Role.police_officer, school_ids=("school-2",))
    case = first().case
    assert may_see_case(officer, case) is False
    joined = second(case, report("rep-2", school_id="school-2", officer="officer-2")).case
    assert may_see_case(officer, joined) is True


def test_social_worker_sees_a_case_once_a_school_her_org_serves_reports() -> None:
    worker = Principal(user_id="w", role=Role.social_worker, org_id="org-2")
    case = first().case
    assert may_see_case(worker, case) is False
    joined = second(case, report("rep-2", school_id="school-2", org="org-2")).case
    assert may_see_case(worker, joined) is True


# --- identity review -------------------------------------------------------------------------


def test_a_report_with_differing_identity_joins_and_flags_the_case_for_review() -> None:
    case = first().case
    assert case.identity_review is False
    intake = second(case, report("rep-2", school_id="school-2", identity_mismatch=True))
    assert intake.identity_flagged is True
    assert intake.case.report_ids == ["rep-1", "rep-2"]  # it still joins: the ID number decides
    assert intake.case.identity_review is True
    last = intake.case.chronology[-1]
    assert (last.kind, last.text, last.ref, last.at) == (
        "identity_review",
        "identity details differ",
        "rep-2",
        T1,
    )
    assert case.identity_review is False  # the stored case is not mutated


def test_a_matching_report_neither_flags_nor_clears_the_review() -> None:
    plain = second(first().case, report("rep-2"))
    assert (plain.identity_flagged, plain.case.identity_review) == (False, False)
    assert "identity_review" not in [e.kind for e in plain.case.chronology]
    flagged = second(first().case, report("rep-2", identity_mismatch=True)).case
    later = take_report(
        flagged, report("rep-3"), now=T1, new_case_id="x", new_task_ids=("task-p3", "task-s3")
    )
    assert (later.identity_flagged, later.case.identity_review) == (False, True)


def test_a_first_report_with_a_mismatch_flags_the_new_case() -> None:
    # A closed case's child may have sealed reports left: the next report opens a new case.
    intake = first(report(identity_mismatch=True))
    assert intake.opened
    assert intake.case.identity_review
    assert intake.identity_flagged


def _tasks() -> tuple[Task, Task]:
    police, social = first().tasks
    return police, social


@pytest.mark.parametrize(
    ("principal", "police_ok", "social_ok"),
    [
        (Principal(user_id="officer-1", role=Role.police_officer), True, False),
        (Principal(user_id="officer-2", role=Role.police_officer), False, False),
        (Principal(user_id="w", role=Role.social_worker, org_id="org-1"), False, True),
        (Principal(user_id="w", role=Role.social_worker, org_id="org-2"), False, False),
        (Principal(user_id="w", role=Role.social_worker), False, False),
        (Principal(user_id="t", role=Role.teacher, org_id="org-1"), False, False),
        (Principal(user_id="d", role=Role.dispatcher, org_id="org-1"), False, False),
        (Principal(user_id="s", role=Role.supervisor), False, False),
        (Principal(user_id="x", role=Role.admin), False, False),
        (Principal(user_id="a", role=Role.auditor), False, False),
        (Principal(user_id="l", role=Role.school_safety_lead, school_id="school-1"), False, False),
    ],
)
def test_may_acknowledge(principal: Principal, police_ok: bool, social_ok: bool) -> None:
    police, social = _tasks()
    assert may_acknowledge(principal, police) is police_ok
    assert may_acknowledge(principal, social) is social_ok


@pytest.mark.parametrize(
    ("principal", "expected"),
    [
        (Principal(user_id="d", role=Role.dispatcher), {}),
        (Principal(user_id="s", role=Role.supervisor), {}),
        (Principal(user_id="x", role=Role.admin), {}),
        (Principal(user_id="a", role=Role.auditor), None),
        (
            Principal(user_id="officer-1", role=Role.police_officer, school_ids=("school-1",)),
            {"assignee_user_id": "officer-1"},
        ),
        (
            Principal(user_id="w", role=Role.social_worker, org_id="org-1"),
            {"assignee_org_id": "org-1"},
        ),
        (Principal(user_id="w", role=Role.social_worker), None),
        (
            Principal(user_id="t", role=Role.teacher, school_id="school-1"),
            {"school_id": "school-1"},
        ),
        (Principal(user_id="t", role=Role.teacher), None),
        (
            Principal(user_id="l", role=Role.school_safety_lead, school_id="school-2"),
            {"school_id": "school-2"},
        ),
    ],
)
def test_task_filter(principal: Principal, expected: dict[str, str] | None) -> None:
    assert task_filter(principal) == expected


# --- closing ---------------------------------------------------------------------------------


def test_every_task_names_the_child() -> None:
    intake = first()
    assert {t.child_ref for t in intake.tasks} == {CHILD}
    joined = second(intake.case, report("rep-2"))
    assert {t.child_ref for t in joined.tasks} == {CHILD}


def test_close_case_records_who_why_and_when_without_mutating_the_case() -> None:
    case = first().case
    before = case.model_copy(deep=True)
    closed = close_case(case, by="supervisor-1", reason="Family moved; counselling done", now=T1)
    assert closed.status is CaseStatus.closed
    assert (closed.closed_at, closed.updated_at) == (T1, T1)
    assert closed.chronology[:-1] == before.chronology
    last = closed.chronology[-1]
    assert (last.kind, last.at) == ("case_closed", T1)
    assert "supervisor-1" in last.text
    assert "counselling done" in last.text
    assert case == before


@pytest.mark.parametrize("role", list(Role))
def test_only_a_supervisor_may_close(role: Role) -> None:
    principal = Principal(user_id="u", role=role, school_id="school-1", org_id="org-1")
    assert may_close(principal) is (role is Role.supervisor)
