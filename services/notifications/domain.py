"""Pure rules of notifications: who is told about what."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.contracts.cases import CaseIdentityFlagged, TaskAcknowledged, TaskCreated
from shared.contracts.ops import DeadLettered, PrivilegedGrantMade

DUTY_DESK = "role:dispatcher"
ADMIN_DESK = "role:admin"
SUPERVISOR_DESK = "role:supervisor"
AUDITOR_DESK = "role:auditor"


@dataclass(frozen=True)
class Notice:
    recipient: str
    kind: str
    title: str
    case_id: str | None
    task_id: str | None
    due_at: datetime | None


def task_assignee(event: TaskCreated) -> str:
    if event.assignee_user_id:
        return f"user:{event.assignee_user_id}"
    return f"org:{event.assignee_org_id}"


def notices_for_task_created(event: TaskCreated) -> list[Notice]:
    """The assignee gets the task; the duty dispatcher sees every new task."""
    title = f"[{event.risk_level.value}] {event.title}"
    return [
        Notice(recipient, "task_assigned", title, event.case_id, event.task_id, event.due_at)
        for recipient in (task_assignee(event), DUTY_DESK)
    ]


def notices_for_task_acknowledged(event: TaskAcknowledged) -> list[Notice]:
    title = f"Task acknowledged by {event.acknowledged_by}"
    return [Notice(DUTY_DESK, "task_acknowledged", title, event.case_id, event.task_id, None)]


def notices_for_dead_letter(event: DeadLettered) -> list[Notice]:
    """A stuck event may be a child's report: the duty desk and the admins must both know."""
    title = (
        f"Event {event.event_type or event.original_subject} could not be processed by "
        f"{event.consumer} after {event.deliveries} attempts (dead letter {event.dead_letter_id})"
    )
    return [
        Notice(desk, "dead_lettered", title, None, None, None) for desk in (DUTY_DESK, ADMIN_DESK)
    ]


def notices_for_identity_flagged(event: CaseIdentityFlagged) -> list[Notice]:
    """Somebody may have attached a report to another child's case: the supervisor checks.
    The notice names the case and the report, never the child."""
    title = (
        f"Identity review: report {event.report_id} from {event.school_id} gave this child's "
        "ID number with identity details that differ"
    )
    return [Notice(SUPERVISOR_DESK, "identity_review", title, event.case_id, None, None)]


def notices_for_privileged_grant(event: PrivilegedGrantMade) -> list[Notice]:
    """Wide powers are reviewed by someone other than the admin who granted them."""
    schools = f" (schools {', '.join(event.school_ids)})" if event.school_ids else ""
    title = f"{event.granted_by} granted {event.account_id} the role {event.role}{schools}"
    return [Notice(AUDITOR_DESK, "privileged_grant", title, None, None, None)]
