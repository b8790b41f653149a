"""Pure rules: who is told about a task's later life (reassigned, declined, cancelled,
escalated, overdue, joined by a repeat report) and a missed follow-up of a monitored child.
Titles name the task or the case, never the child."""

from __future__ import annotations

from services.notifications.domain import DUTY_DESK, SUPERVISOR_DESK, Notice
from shared.contracts.cases import (
    Escalation,
    FollowUpOverdue,
    TaskCancelled,
    TaskDeclined,
    TaskEscalated,
    TaskOverdue,
    TaskReassigned,
    TaskReportAdded,
)
from shared.contracts.notifications import org_inbox, user_inbox
from shared.events import EventData

LADDER = {Escalation.desk: DUTY_DESK, Escalation.supervisor: SUPERVISOR_DESK}


def assignee(user_id: str | None, org_id: str | None) -> str | None:
    if user_id:
        return user_inbox(user_id)
    return org_inbox(org_id) if org_id else None


def _to(recipients: list[str | None], **fields: object) -> list[Notice]:
    unique = dict.fromkeys(r for r in recipients if r is not None)
    return [Notice.model_validate({"recipient": r, **fields}) for r in unique]


def notices_for(event: EventData) -> list[Notice] | None:
    """The notices for one of these task events; None for an event not handled here."""
    if isinstance(event, TaskReassigned):
        new = assignee(event.assignee_user_id, event.assignee_org_id)
        old = assignee(event.previous_user_id, event.previous_org_id)
        title = f"[{event.risk_level.value}] {event.title}"
        given = _to(
            [new],
            kind="task_assigned",
            title=title,
            due_at=event.ack_due_at,
            case_id=event.case_id,
            task_id=event.task_id,
        )
        taken = _to(
            [old] if old != new else [],
            kind="task_reassigned",
            title=f"Reassigned by {event.by}: {event.title}",
            case_id=event.case_id,
            task_id=event.task_id,
        )
        return given + taken
    if isinstance(event, TaskDeclined):
        return _to(
            [DUTY_DESK],
            kind="task_declined",
            title=f"Declined, to reassign: {event.title}",
            case_id=event.case_id,
            task_id=event.task_id,
        )
    if isinstance(event, TaskCancelled):
        who = assignee(event.assignee_user_id, event.assignee_org_id)
        return _to(
            [who],
            kind="task_cancelled",
            title=f"Cancelled: {event.title}",
            case_id=event.case_id,
            task_id=event.task_id,
        )
    if isinstance(event, TaskEscalated):
        title = f"URGENT [{event.risk_level.value}] not acknowledged in time: {event.title}"
        return _to(
            [LADDER[event.level]],
            kind="task_escalated",
            title=title,
            case_id=event.case_id,
            task_id=event.task_id,
            due_at=event.ack_due_at,
        )
    if isinstance(event, TaskOverdue):
        who = assignee(event.assignee_user_id, event.assignee_org_id)
        return _to(
            [who, DUTY_DESK],
            kind="task_overdue",
            title=f"Overdue: {event.title}",
            case_id=event.case_id,
            task_id=event.task_id,
            due_at=event.due_at,
        )
    if isinstance(event, TaskReportAdded):
        who = assignee(event.assignee_user_id, event.assignee_org_id)
        raised = f" (risk raised to {event.risk_level.value})" if event.raised else ""
        return _to(
            [who, DUTY_DESK if event.raised else None],
            kind="task_report_added",
            title=f"Another report for {event.title}{raised}",
            case_id=event.case_id,
            task_id=event.task_id,
            due_at=event.due_at,
        )
    return None


def follow_up_overdue(event: FollowUpOverdue) -> list[Notice]:
    """A monitored child's follow-up was missed: the responsible person and the desk."""
    return _to(
        [user_inbox(event.responsible_user_id), DUTY_DESK],
        kind="follow_up_overdue",
        title="Follow-up overdue for a monitored child",
        case_id=event.case_id,
        due_at=event.due_at,
    )


TYPES: dict[str, type[EventData]] = {
    t.TYPE: t
    for t in (
        TaskReassigned,
        TaskDeclined,
        TaskCancelled,
        TaskEscalated,
        TaskOverdue,
        TaskReportAdded,
    )
}
