"""What each role sees of a case: the whole of it for the agencies and the desk; for school
staff, feedback on their own school's reports and nothing about another school's."""

from __future__ import annotations

import pytest

from services.case_tracking.access import task_scope
from services.case_tracking.domain import Case, Task, take_report
from services.case_tracking.views import case_view, task_view
from shared.contracts.cases import (
    CaseFeedbackView,
    CaseView,
    TaskFeedback,
    TaskFeedbackView,
    TaskView,
)
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.identity import Principal, Role
from tests.unit.case_tracking.test_domain import T1, first, report, second

pytestmark = pytest.mark.unit

TEACHER_2 = Principal(user_id="t2", role=Role.teacher, school_id="school-2")
SAFETY_1 = Principal(user_id="l1", role=Role.school_safety_lead, school_id="school-1")
AGENCIES_AND_DESK = [
    Principal(user_id="officer-2", role=Role.police_officer, school_ids=("school-2",)),
    Principal(user_id="w", role=Role.social_worker, org_id="org-2"),
    Principal(user_id="d", role=Role.dispatcher),
    Principal(user_id="s", role=Role.supervisor),
]


def two_school_case() -> tuple[Case, list[Task]]:
    """School 1 reports self-harm; school 2 reports truancy about the same child."""
    one = first()
    two = second(
        one.case,
        report(
            "rep-2",
            category=ReportCategory.truancy,
            severity=Severity.medium,
            school_id="school-2",
            officer="officer-2",
            org="org-2",
            identity_mismatch=True,
        ),
    )
    return two.case, [*one.tasks, *two.tasks]


def test_school_staff_see_feedback_on_their_own_reports_only() -> None:
    case, tasks = two_school_case()
    view = case_view(TEACHER_2, case, tasks, None)
    assert isinstance(view, CaseFeedbackView)
    assert view.report_ids == ["rep-2"]
    assert [t.id for t in view.tasks] == ["task-p2", "task-s2"]
    assert (view.status, view.risk_level) == (case.status, Severity.critical)
    answer = view.model_dump_json()
    foreign = ['"rep-1"', '"task-p"', '"task-s"', "self_harm", "school-1", "officer-1", "org-1"]
    for word in foreign:
        assert word not in answer, word
    assert set(view.model_dump()) == {
        "id", "child_ref", "status", "risk_level", "closed_at", "report_ids", "tasks"
    }  # fmt: skip
    assert set(view.tasks[0].model_dump()) == set(TaskFeedback.model_fields)


def test_the_first_school_does_not_see_the_second_schools_report_either() -> None:
    case, tasks = two_school_case()
    view = case_view(SAFETY_1, case, tasks, None)
    assert isinstance(view, CaseFeedbackView)
    assert view.report_ids == ["rep-1"]
    assert {t.report_id for t in view.tasks} == {"rep-1"}
    assert "truancy" not in view.model_dump_json()
    assert "identity" not in view.model_dump_json()


@pytest.mark.parametrize("principal", AGENCIES_AND_DESK, ids=lambda p: p.role.value)
def test_agencies_and_the_desk_keep_the_full_view(principal: Principal) -> None:
    case, tasks = two_school_case()
    view = case_view(principal, case, tasks, None)
    assert isinstance(view, CaseView)
    assert view.report_ids == ["rep-1", "rep-2"]
    assert view.school_ids == ["school-1", "school-2"]
    assert view.identity_review is True
    assert task_scope(principal) == {}
    assert isinstance(task_view(principal, tasks[0]), TaskView)


def test_school_staff_get_tasks_without_assignees_and_only_their_schools() -> None:
    _, tasks = two_school_case()
    assert task_scope(TEACHER_2) == {"school_id": "school-2"}
    shown = task_view(TEACHER_2, tasks[2])
    assert isinstance(shown, TaskFeedbackView)
    dumped = shown.model_dump()
    assert "assignee_user_id" not in dumped
    assert "acknowledged_by" not in dumped
    assert (dumped["case_id"], dumped["child_ref"]) == (tasks[2].case_id, tasks[2].child_ref)


def test_feedback_ignores_tasks_of_another_school_even_if_handed_them() -> None:
    case, tasks = two_school_case()
    view = case_view(TEACHER_2, case, tasks[:2], None)  # only school 1's tasks
    assert isinstance(view, CaseFeedbackView)
    assert (view.report_ids, view.tasks) == (["rep-2"], [])  # its own report, from the case


def test_a_schools_repeat_report_is_in_its_feedback_though_it_started_no_task() -> None:
    """The repeat rule: a report of the same kind joins the open tasks and starts none; the
    school still sees it among its reports. Another school's repeat report is not shown."""
    one = first()

    def repeat(case: Case, tasks: list[Task], r: ReportFiled) -> tuple[Case, list[Task]]:
        intake = take_report(
            case, r, now=T1, new_case_id="case-NEW", new_task_ids=("x", "y"), open_tasks=tasks
        )
        assert intake.tasks == []  # same kind: it joins both open tasks
        return intake.case, [t for t, _ in intake.joined]

    case, tasks = repeat(one.case, one.tasks, report("rep-2"))
    case, tasks = repeat(case, tasks, report("rep-3", school_id="school-2", officer="officer-2"))
    assert [t.report_ids for t in tasks] == [["rep-1", "rep-2", "rep-3"]] * 2
    view = case_view(SAFETY_1, case, tasks, None)
    assert isinstance(view, CaseFeedbackView)
    assert view.report_ids == ["rep-1", "rep-2"]
    assert [t.id for t in view.tasks] == ["task-p", "task-s"]
    assert '"rep-3"' not in view.model_dump_json()
    theirs = case_view(TEACHER_2, case, [], None)  # school 1's tasks are not in its scope
    assert isinstance(theirs, CaseFeedbackView)
    assert (theirs.report_ids, theirs.tasks) == (["rep-3"], [])


def test_a_case_from_before_lists_what_the_schools_tasks_name() -> None:
    case, tasks = two_school_case()
    legacy = case.model_copy(update={"school_reports": []})
    view = case_view(TEACHER_2, legacy, tasks, None)
    assert isinstance(view, CaseFeedbackView)
    assert view.report_ids == ["rep-2"]
