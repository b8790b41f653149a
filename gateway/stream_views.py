"""What each role may see of the event feed: the same need-to-know as the REST views.

Events carry no names, ID numbers or free text (shared/contracts); the feed still sends each
event type only through a field allow-list (gateway/stream_events.py `FIELDS`), so a field
added to a contract later is not streamed until it is listed there. The station's desk
(dispatcher, supervisor, admin) sees every listed event (an alert only when addressed to the
desk); a police officer only events about the schools in his beat, a social worker only those
about cases her organisation serves, as `GET /v1/cases/{id}` decides. School staff
are refused the feed: their view of a case is feedback on their own reports
(`TaskFeedbackView`), which the feed's station-wide events do not fit; they read it over REST.

Events name a case or report but not always its school or organisation (an acknowledgement
names only the task and case), so each replica keeps a bounded index of what the feed has
shown about each case. An event it cannot place is not shown to a scoped role (fail closed).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from gateway.limits import Bounded
from gateway.stream import Item
from gateway.stream_events import FIELDS, STATION_ONLY, addressed
from shared.events import Envelope
from shared.identity import STATION_WIDE, Principal, Role

STREAM_ROLES = (*sorted(STATION_WIDE), Role.police_officer, Role.social_worker)
INDEX_KEYS = 100_000  # cases, reports and children each remembered per replica


@dataclass
class CaseFacts:
    schools: set[str] = field(default_factory=set)
    orgs: set[str] = field(default_factory=set)
    risk: str | None = None


class ScopeIndex:
    """Which schools, organisations and risk each case has, as far as the feed has seen."""

    def __init__(self, max_keys: int = INDEX_KEYS) -> None:
        self.cases = Bounded(max_keys)
        self.reports = Bounded(max_keys)  # report_id → (school, organisation)
        self.children = Bounded(max_keys)  # child_ref → organisations of its reports

    def _case(self, case_id: str) -> CaseFacts:
        facts: CaseFacts = self.cases.get(case_id) or CaseFacts()
        self.cases.touch(case_id, facts)
        return facts

    def observe(self, item: Item) -> None:
        kind, data = item.envelope.type, item.envelope.data
        if kind == "school.report.filed":
            self.reports.touch(data["report_id"], (data["school_id"], data["social_org_id"]))
            orgs = self.children.get(data["child_ref"]) or set()
            self.children.touch(data["child_ref"], orgs | {data["social_org_id"]})
            return
        case_id = data.get("case_id")
        if not case_id or not kind.startswith(("case.", "task.")):
            return
        facts = self._case(case_id)
        if school := data.get("school_id"):
            facts.schools.add(school)
        if org := data.get("assignee_org_id"):
            facts.orgs.add(org)
        if (report := self.reports.get(data.get("report_id") or "")) is not None:
            facts.schools.add(report[0])
            facts.orgs.add(report[1])
        if child := data.get("child_ref"):
            facts.orgs |= self.children.get(child) or set()
        if risk := data.get("risk_level"):
            facts.risk = risk

    def facts_of(self, item: Item) -> CaseFacts:
        """Worked out once per event, not once per client: the fan-out's hot path."""
        facts: CaseFacts | None = item.shaped.get("facts")
        if facts is None:
            facts = item.shaped["facts"] = self.facts(item.envelope)
        return facts

    def facts(self, envelope: Envelope) -> CaseFacts:
        data = envelope.data
        known: CaseFacts | None = self.cases.get(data.get("case_id") or "")
        facts = CaseFacts(set(known.schools), set(known.orgs), known.risk) if known else CaseFacts()
        if school := data.get("school_id"):
            facts.schools.add(school)
        if envelope.type == "school.report.filed":
            facts.orgs.add(data["social_org_id"])
        if risk := data.get("severity") or data.get("risk_level"):
            facts.risk = risk
        return facts


@dataclass(frozen=True)
class Filters:
    types: frozenset[str] = frozenset()
    school_id: str | None = None
    severity: str | None = None


def admits(principal: Principal, filters: Filters, envelope: Envelope, facts: CaseFacts) -> bool:
    kind = envelope.type
    if kind not in FIELDS or (filters.types and kind not in filters.types):
        return False
    if not addressed(kind, envelope.data):
        return False
    if filters.school_id and filters.school_id not in facts.schools:
        return False
    if filters.severity and filters.severity != facts.risk:
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


def shaped(item: Item) -> str:
    """The event's `data:` JSON (one line), the same for every role that may see it."""
    cached: str | None = item.shaped.get("json")
    if cached is None:
        env = item.envelope
        body: dict[str, Any] = {"event_id": env.id, "type": env.type, "time": env.time.isoformat()}
        body.update({k: env.data[k] for k in FIELDS[env.type] if k in env.data})
        cached = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        item.shaped["json"] = cached
    return cached


def child_of(envelope: Envelope) -> tuple[str | None, str | None]:
    """(child_ref, case_id) an event is about, for the audit trail; (None, None) if none."""
    data = envelope.data
    if data.get("child_ref"):
        return str(data["child_ref"]), None
    if data.get("case_id"):
        return None, str(data["case_id"])
    return None, None
