"""Which events leave the platform (the live feed `GET /v1/stream` and partner webhooks), with
which fields, and who may see each: one implementation for both (docs/webhooks.md).

Every event contract in shared/contracts is either shown (`FIELDS`: a field allow-list of
facts: ids, pseudonyms, states, times; never a name, an ID number or free text such as a
reason, a note, an outcome or an alert's title) or left out on purpose (`EXCLUDED`, with the
reason). tests/unit/gateway/test_stream_events.py fails for a contract in neither, so a new
event type cannot be forgotten again.

Who sees what: the station's desk (dispatcher, supervisor, admin) sees every listed event (an
alert only when addressed to the desk); a police officer only events about the schools in his
beat, a social worker only those about cases her organisation serves, as `GET /v1/cases/{id}`
decides. Events name a case or report but not always its school or organisation (an
acknowledgement names only the task and case), so each reader keeps an index of what it has
seen about each case (`CaseFacts`, learnt by `learn`); an event it cannot place is not shown to
a scoped role (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.cases import (
    CaseClosed,
    CaseIdentityFlagged,
    CaseMonitored,
    CaseOpened,
    CaseRiskReviewed,
    CaseUpdated,
    DispositionRecorded,
    FollowUpOverdue,
    FollowUpRecorded,
    ReportLinked,
    TaskAcknowledged,
    TaskCancelled,
    TaskCompleted,
    TaskCreated,
    TaskDeclined,
    TaskEscalated,
    TaskOverdue,
    TaskReassigned,
    TaskReportAdded,
    TaskStarted,
)
from shared.contracts.notifications import role_inbox
from shared.contracts.ops import DeadLettered, DeadLetterReplayed
from shared.contracts.school import ReportFiled
from shared.events import EventData
from shared.identity import STATION_WIDE, Principal, Role

# A closed-early task (declined, cancelled) names who closed it and its assignee; the reason
# stays in the case's chronology. `title` is the plan's label of the task kind, not user text.
_CLOSED = ("task_id", "case_id", "title", "by", "at", "assignee_user_id", "assignee_org_id")

FIELDS: dict[str, tuple[str, ...]] = {
    "school.report.filed": (
        "report_id", "school_id", "category", "severity", "immediate_danger", "child_ref",
        "filed_at",
    ),
    "case.opened": ("case_id", "child_ref", "school_id", "risk_level"),
    "case.updated": ("case_id", "report_id", "risk_level"),
    "case.report.linked": ("report_id", "case_id"),
    "case.closed": ("case_id", "child_ref", "closed_at"),
    "case.identity.flagged": ("case_id", "report_id", "school_id"),
    # Not the review's reason (free text, in the chronology).
    "case.risk.reviewed": ("case_id", "previous", "risk_level", "by"),
    "case.monitored": ("case_id", "responsible_user_id", "interval_days", "next_due_at"),
    # Not the follow-up's outcome (sealed in case_tracking, never in an event).
    "case.followup.recorded": ("case_id", "by", "contact_type", "next_due_at"),
    "case.followup.overdue": ("case_id", "responsible_user_id", "due_at"),
    "case.disposition.recorded": ("disposition_id", "case_id", "kind", "by"),
    "task.created": (
        "task_id", "case_id", "school_id", "kind", "title", "agency", "assignee_user_id",
        "assignee_org_id", "risk_level", "due_at",
    ),
    "task.acknowledged": ("task_id", "case_id", "acknowledged_by", "acknowledged_at"),
    "task.started": ("task_id", "case_id", "started_by", "started_at"),
    "task.completed": ("task_id", "case_id", "completed_by", "completed_at"),
    "task.declined": _CLOSED,
    "task.cancelled": _CLOSED,
    "task.reassigned": (
        "task_id", "case_id", "title", "risk_level", "by", "previous_user_id",
        "previous_org_id", "assignee_user_id", "assignee_org_id", "ack_due_at", "due_at",
    ),
    "task.escalated": ("task_id", "case_id", "title", "risk_level", "level", "ack_due_at"),
    "task.overdue": (
        "task_id", "case_id", "title", "assignee_user_id", "assignee_org_id", "due_at",
    ),
    "task.report.added": (
        "task_id", "case_id", "report_id", "title", "risk_level", "assignee_user_id",
        "assignee_org_id", "ack_due_at", "due_at", "raised",
    ),
    # Only those addressed to the desk (`DESK_ADDRESSED`). Not the title: it is free text that
    # may list schools and notices; not the recipients (other people's inboxes).
    "patrol.alert.raised": ("alert_id", "kind", "school_id", "due_at"),
    # Not `reason`: an exception's text may quote anything the failed event held.
    "ops.dead_lettered": (
        "dead_letter_id", "consumer", "original_subject", "event_type", "deliveries",
    ),
    "ops.dead_letter.replayed": ("dead_letter_id", "consumer", "original_subject", "replayed_by"),
}  # fmt: skip

# The desk's own business: never shown to a scoped role (officer, social worker).
STATION_ONLY = frozenset(
    {
        "ops.dead_lettered",
        "ops.dead_letter.replayed",
        "case.identity.flagged",
        "patrol.alert.raised",
    }
)

# Alerts are streamed only when they are addressed to the duty desk; the others are personal
# (an officer's expiring letter, a school's notice) and stay in their inboxes.
DESK_INBOX = role_inbox(Role.dispatcher)
DESK_ADDRESSED = frozenset({"patrol.alert.raised"})

EXCLUDED: dict[str, str] = {
    "school.child.erased": "retention bookkeeping about a child_ref; nothing to dispatch",
    "school.alert.raised": "addressed to a school counsellor's inbox, never to the desk",
    "school.counselling.entry_added": "the school's own counselling register (school staff)",
    "school.counselling.entry_removed": "the school's own counselling register",
    "school.counselling.session_scheduled": "the school's own counselling register",
    "school.counselling.session_recorded": "the school's own counselling register; an acute "
    "risk files a concern report, which is streamed",
    "school.counselling.session_missed": "the school's own counselling register; the "
    "counsellor is alerted in her inbox",
    "school.education.event_recorded": "legal-education planning, read over REST",
    "school.education.event_confirmed": "legal-education planning, read over REST",
    "patrol.shift.planned": "patrol planning, read over REST (GET /v1/patrol/plan)",
    "patrol.post.planned": "patrol planning, read over REST; an unstaffed post alerts the desk",
    "patrol.post.checked_in": "patrol planning; an unstaffed post alerts the desk",
    "patrol.venue.registered": "the venue registry, read over REST",
    "patrol.venue.status_changed": "the venue registry, read over REST",
    "patrol.venue.letter_signed": "the venue registry; expiring letters alert the officer",
    "patrol.venue.inspected": "inspection records; overdue notices alert the desk",
    "patrol.inspection.recorded": "inspection records; overdue notices alert the desk",
    "patrol.rectification.issued": "rectification notices, read over REST; overdue ones "
    "alert the desk",
    "patrol.rectification.reported_fixed": "rectification notices, read over REST",
    "patrol.rectification.reinspected": "rectification notices, read over REST",
    "patrol.video.checked": "the daily video-patrol log; missing schools alert the desk",
    "patrol.video.concern_raised": "becomes a concern report (school.report.filed), streamed",
    "timer.task.due": "case_tracking's own durable timer; its effects (task.escalated, "
    "task.overdue) are streamed",
    "timer.followup.due": "case_tracking's own durable timer; case.followup.overdue is streamed",
    "audit.checkpoint": "the audit chain's signed checkpoint, for auditors only",
    "case.intake.recorded": "a carrier (shared/carried.py): each event it holds is streamed, "
    "and sent to webhooks, as itself",
    "ops.privileged_granted": "an access grant, for the auditors' review, not dispatch",
}

# Each streamed event is checked against its contract: a malformed one (a poison message the
# pipeline dead-letters) is skipped, never shown and never fatal to the feed.
CONTRACTS: dict[str, type[EventData]] = {
    model.TYPE: model
    for model in (
        ReportFiled, CaseOpened, CaseUpdated, ReportLinked, CaseClosed, CaseIdentityFlagged,
        CaseRiskReviewed, CaseMonitored, FollowUpRecorded, FollowUpOverdue, DispositionRecorded,
        TaskCreated, TaskAcknowledged, TaskStarted, TaskCompleted, TaskDeclined, TaskCancelled,
        TaskReassigned, TaskEscalated, TaskOverdue, TaskReportAdded, PatrolAlertRaised,
        DeadLettered, DeadLetterReplayed,
    )
}  # fmt: skip


def addressed(kind: str, data: dict[str, Any]) -> bool:
    """False for an alert not addressed to the desk: it is not streamed to anyone."""
    return kind not in DESK_ADDRESSED or DESK_INBOX in (data.get("recipients") or ())


# The roles that may see events at all (the feed, webhooks). School staff are refused: their
# view of a case is feedback on their own reports, read over REST.
VIEW_ROLES = (*sorted(STATION_WIDE), Role.police_officer, Role.social_worker)
SCOPED = frozenset({Role.police_officer, Role.social_worker})


def types_for(role: Role) -> frozenset[str]:
    """The event types a role may ever see (before its scope is applied to each event)."""
    if role in STATION_WIDE:
        return frozenset(FIELDS)
    if role in SCOPED:
        return frozenset(FIELDS) - STATION_ONLY
    return frozenset()


@dataclass
class CaseFacts:
    schools: set[str] = field(default_factory=set)
    orgs: set[str] = field(default_factory=set)
    risk: str | None = None


def learn(facts: CaseFacts, data: dict[str, Any]) -> None:
    """What a case or task event teaches about its case, from the event alone: a case's opening
    and updates name each of its reports' school and organisation, a task its assignee's. A
    case's organisations are those case_tracking gives it, never those of the child's other
    cases."""
    if school := data.get("school_id"):
        facts.schools.add(school)
    for key in ("assignee_org_id", "social_org_id"):
        if org := data.get(key):
            facts.orgs.add(org)
    if risk := data.get("risk_level"):
        facts.risk = risk


def teaches(kind: str, data: dict[str, Any]) -> str | None:
    """The case a case or task event teaches about, or None."""
    case_id = data.get("case_id")
    return str(case_id) if case_id and kind.startswith(("case.", "task.")) else None


def facts_of(data: dict[str, Any], known: CaseFacts | None) -> CaseFacts:
    """The scope of one event: what is known of its case, plus what the event itself says."""
    facts = CaseFacts(set(known.schools), set(known.orgs), known.risk) if known else CaseFacts()
    if school := data.get("school_id"):
        facts.schools.add(school)
    if org := data.get("social_org_id"):  # a filed report, or its case opened or updated
        facts.orgs.add(org)
    if risk := data.get("severity") or data.get("risk_level"):
        facts.risk = risk
    return facts


def visible(principal: Principal, kind: str, data: dict[str, Any], facts: CaseFacts) -> bool:
    """May this caller see this event? The same rule for the feed and for webhooks."""
    if kind not in FIELDS or not addressed(kind, data):
        return False
    if principal.role in STATION_WIDE:
        return True
    if kind in STATION_ONLY:
        return False
    if principal.role is Role.police_officer:
        return bool(facts.schools & set(principal.school_ids))
    if principal.role is Role.social_worker:
        return principal.org_id is not None and principal.org_id in facts.orgs
    return False


def shown(kind: str, data: dict[str, Any]) -> dict[str, Any]:
    """The allow-listed fields of an event's data, the same for every role that may see it."""
    return {k: data[k] for k in FIELDS[kind] if k in data}


def child_of(data: dict[str, Any]) -> tuple[str | None, str | None]:
    """(child_ref, case_id) an event is about; (None, None) if none."""
    if data.get("child_ref"):
        return str(data["child_ref"]), None
    if data.get("case_id"):
        return None, str(data["case_id"])
    return None, None
