"""Pure rules of notifications: who is told about what."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from shared.contracts.alerts import AlertRaised
from shared.contracts.cases import CaseIdentityFlagged, TaskAcknowledged, TaskCreated
from shared.contracts.notifications import org_inbox, role_inbox, user_inbox
from shared.contracts.ops import DeadLettered, PrivilegedGrantMade
from shared.events import Timestamp
from shared.identity import Principal, Role

DUTY_DESK = role_inbox(Role.dispatcher)
ADMIN_DESK = role_inbox(Role.admin)
SUPERVISOR_DESK = role_inbox(Role.supervisor)
AUDITOR_DESK = role_inbox(Role.auditor)


class Notice(BaseModel):
    """Who is told what; delivered, it becomes a Notification in the recipient's inbox."""

    model_config = ConfigDict(frozen=True)

    recipient: str
    kind: str
    title: str
    case_id: str | None = None
    task_id: str | None = None
    due_at: Timestamp | None = None


class Notification(Notice):
    """An inbox entry."""

    id: str
    created_at: Timestamp
    read_at: Timestamp | None = None


def deliver(notice: Notice, *, event_id: str, now: datetime) -> Notification:
    # The id is the event's and the recipient's: one event never puts two entries in an inbox.
    return Notification(
        **notice.model_dump(), id=f"ntf-{event_id}-{notice.recipient}", created_at=now
    )


def may_read(principal: Principal, notification: Notification) -> bool:
    return notification.recipient in principal.inbox_keys


def mark_read(notification: Notification, *, now: datetime) -> Notification:
    """Read once, read: the first reading's time stays."""
    if notification.read_at is not None:
        return notification
    return notification.model_copy(update={"read_at": now})


def task_assignee(event: TaskCreated) -> str | None:
    if event.assignee_user_id:
        return user_inbox(event.assignee_user_id)
    if event.assignee_org_id:
        return org_inbox(event.assignee_org_id)
    return None  # nobody to tell but the desk, which sees every task


def notices_for_task_created(event: TaskCreated) -> list[Notice]:
    """The assignee gets the task; the duty dispatcher sees every new task."""
    title = f"[{event.risk_level.value}] {event.title}"
    return [
        Notice(
            recipient=recipient,
            kind="task_assigned",
            title=title,
            case_id=event.case_id,
            task_id=event.task_id,
            due_at=event.due_at,
        )
        for recipient in (task_assignee(event), DUTY_DESK)
        if recipient is not None
    ]


def notices_for_task_acknowledged(event: TaskAcknowledged) -> list[Notice]:
    title = f"Task acknowledged by {event.acknowledged_by}"
    notice = Notice(
        recipient=DUTY_DESK,
        kind="task_acknowledged",
        title=title,
        case_id=event.case_id,
        task_id=event.task_id,
    )
    return [notice]


def notices_for_dead_letter(event: DeadLettered) -> list[Notice]:
    """A stuck event may be a child's report: the duty desk and the admins must both know."""
    title = (
        f"Event {event.event_type or event.original_subject} could not be processed by "
        f"{event.consumer} after {event.deliveries} attempts (dead letter {event.dead_letter_id})"
    )
    return [
        Notice(recipient=desk, kind="dead_lettered", title=title)
        for desk in (DUTY_DESK, ADMIN_DESK)
    ]


def notices_for_identity_flagged(event: CaseIdentityFlagged) -> list[Notice]:
    """Somebody may have attached a report to another child's case: the supervisor checks.
    The notice names the case and the report, never the child."""
    title = (
        f"Identity review: report {event.report_id} from {event.school_id} gave this child's "
        "ID number with identity details that differ"
    )
    notice = Notice(
        recipient=SUPERVISOR_DESK, kind="identity_review", title=title, case_id=event.case_id
    )
    return [notice]


def notices_for_privileged_grant(event: PrivilegedGrantMade) -> list[Notice]:
    """Wide powers are reviewed by someone other than the admin who granted them."""
    schools = f" (schools {', '.join(event.school_ids)})" if event.school_ids else ""
    title = f"{event.granted_by} granted {event.account_id} the role {event.role}{schools}"
    return [Notice(recipient=AUDITOR_DESK, kind="privileged_grant", title=title)]


def notices_for_alert(event: AlertRaised) -> list[Notice]:
    """Due school work (a missed session, an overdue rectification): each named inbox."""
    return [
        Notice(recipient=recipient, kind=event.kind, title=event.title, due_at=event.due_at)
        for recipient in dict.fromkeys(event.recipients)
    ]
