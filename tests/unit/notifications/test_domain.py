"""notifications' pure rules: who is told about what."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.notifications.domain import (
    notices_for_alert,
    notices_for_task_acknowledged,
    notices_for_task_created,
)
from shared.contracts.alerts import SchoolAlertRaised
from shared.contracts.cases import Agency, TaskAcknowledged, TaskCreated
from shared.contracts.school import Severity

pytestmark = pytest.mark.unit

T0 = datetime(2024, 2, 1, 9, 0, tzinfo=UTC)


def created(agency: Agency) -> TaskCreated:
    police = agency is Agency.police
    return TaskCreated(
        task_id="task-1",
        case_id="case-1",
        school_id="school-1",
        kind="home_visit" if police else "crisis_counselling",
        title="Immediate home visit",
        agency=agency,
        assignee_user_id="officer-1" if police else None,
        assignee_org_id=None if police else "org-1",
        risk_level=Severity.critical,
        due_at=T0 + timedelta(minutes=30),
    )


@pytest.mark.parametrize(
    ("agency", "assignee"),
    [(Agency.police, "user:officer-1"), (Agency.social_work, "org:org-1")],
)
def test_task_created_notifies_the_assignee_and_the_dispatcher(
    agency: Agency, assignee: str
) -> None:
    notices = notices_for_task_created(created(agency))
    assert [n.recipient for n in notices] == [assignee, "role:dispatcher"]
    for n in notices:
        assert n.kind == "task_assigned"
        assert (n.case_id, n.task_id) == ("case-1", "task-1")
        assert n.due_at == T0 + timedelta(minutes=30)
        assert "critical" in n.title
        assert "Immediate home visit" in n.title


def test_a_task_without_an_assignee_goes_to_the_desk_alone() -> None:
    unassigned = created(Agency.social_work).model_copy(update={"assignee_org_id": None})
    assert [n.recipient for n in notices_for_task_created(unassigned)] == ["role:dispatcher"]


def test_task_acknowledged_notifies_the_dispatcher_desk() -> None:
    event = TaskAcknowledged(
        task_id="task-1", case_id="case-1", acknowledged_by="officer-1", acknowledged_at=T0
    )
    notices = notices_for_task_acknowledged(event)
    assert len(notices) == 1
    (n,) = notices
    assert n.recipient == "role:dispatcher"
    assert n.kind == "task_acknowledged"
    assert (n.case_id, n.task_id, n.due_at) == ("case-1", "task-1", None)
    assert "officer-1" in n.title


def test_an_alert_tells_each_named_inbox_once() -> None:
    alert = SchoolAlertRaised(
        alert_id="counselling_session_missed-cns-1",
        kind="counselling_session_missed",
        recipients=("user:social1", "user:social1", "school:sch-04"),
        title="Counselling session cns-1 was missed",
        school_id="sch-04",
    )
    notices = notices_for_alert(alert)
    assert [n.recipient for n in notices] == ["user:social1", "school:sch-04"]
    assert {n.kind for n in notices} == {"counselling_session_missed"}
