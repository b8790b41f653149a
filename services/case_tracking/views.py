"""What each role sees of a case and its tasks.

Police, social workers and the desk see the whole case (need-to-know: the case's schools are
in their scope). School staff see a case only as feedback on their own school's reports: its
status and risk, and the tasks their reports started. A teacher who files a report with
another school's child's ID number joins that child's case, but learns nothing of the other
school's reports, categories, chronology or tasks.
"""

from __future__ import annotations

from services.case_tracking.access import feedback_only
from services.case_tracking.domain import Case, Task
from shared.contracts.cases import (
    CaseFeedbackView,
    CaseView,
    ChronologyEntry,
    ChronologyEntryView,
    TaskFeedback,
    TaskFeedbackView,
    TaskView,
)
from shared.identity import Principal


def full_view(case: Case, after: str | None) -> CaseView:
    """`case` with its chronology's first page; `after`: the next page's cursor, encoded."""
    return CaseView.model_validate({**case.model_dump(), "chronology_after": after})


def case_view(
    principal: Principal, case: Case, tasks: list[Task], after: str | None
) -> CaseView | CaseFeedbackView:
    """`tasks`: the case's tasks within `task_scope(principal)` (used for the feedback view);
    `after`: the chronology's next page's cursor, encoded (the full view's)."""
    if not feedback_only(principal):
        return full_view(case, after)
    own = [t for t in tasks if t.school_id == principal.school_id]
    # The school's reports as the case keeps them; on a case from before it kept them, those
    # that started the school's tasks (a repeat report that joined one is then not named).
    filed = [report for school, report in case.school_reports if school == principal.school_id]
    return CaseFeedbackView(
        id=case.id,
        child_ref=case.child_ref,
        status=case.status,
        risk_level=case.risk_level,
        closed_at=case.closed_at,
        report_ids=list(dict.fromkeys([*filed, *(t.report_id for t in own)])),
        tasks=[TaskFeedback.model_validate(t, from_attributes=True) for t in own],
    )


def task_view(principal: Principal, task: Task) -> TaskView | TaskFeedbackView:
    if feedback_only(principal):
        return TaskFeedbackView.model_validate(task, from_attributes=True)
    return TaskView.model_validate(task, from_attributes=True)


def chronology_view(case: Case, entries: list[ChronologyEntry]) -> list[ChronologyEntryView]:
    return [ChronologyEntryView(**e.model_dump(), child_ref=case.child_ref) for e in entries]
