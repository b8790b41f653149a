"""What each role may see of the event feed: the rules are shared/event_views.py's (the same
for partner webhooks); here, the replica's bounded index of what the feed has shown about each
case, and the feed's own filters.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from gateway.limits import Bounded
from gateway.stream import Item
from shared import event_views as views
from shared.event_views import VIEW_ROLES, CaseFacts
from shared.events import Envelope
from shared.identity import Principal

STREAM_ROLES = VIEW_ROLES
INDEX_KEYS = 100_000  # cases remembered per replica


class ScopeIndex:
    """Which schools, organisations and risk each case has, as far as the feed has seen."""

    def __init__(self, max_keys: int = INDEX_KEYS) -> None:
        self.cases = Bounded(max_keys)

    def _case(self, case_id: str) -> CaseFacts:
        facts: CaseFacts = self.cases.get(case_id) or CaseFacts()
        self.cases.touch(case_id, facts)
        return facts

    def observe(self, item: Item) -> None:
        kind, data = item.envelope.type, item.envelope.data
        if (case_id := views.teaches(kind, data)) is not None:
            views.learn(self._case(case_id), data)

    def facts_of(self, item: Item) -> CaseFacts:
        """Worked out once per event, not once per client: the fan-out's hot path."""
        facts: CaseFacts | None = item.shaped.get("facts")
        if facts is None:
            facts = item.shaped["facts"] = self.facts(item.envelope)
        return facts

    def facts(self, envelope: Envelope) -> CaseFacts:
        known: CaseFacts | None = self.cases.get(envelope.data.get("case_id") or "")
        return views.facts_of(envelope.data, known)


@dataclass(frozen=True)
class Filters:
    types: frozenset[str] = frozenset()
    school_id: str | None = None
    severity: str | None = None


def admits(principal: Principal, filters: Filters, envelope: Envelope, facts: CaseFacts) -> bool:
    kind = envelope.type
    if filters.types and kind not in filters.types:
        return False
    if filters.school_id and filters.school_id not in facts.schools:
        return False
    if filters.severity and filters.severity != facts.risk:
        return False
    return views.visible(principal, kind, envelope.data, facts)


def shaped(item: Item) -> str:
    """The event's `data:` JSON (one line), the same for every role that may see it."""
    cached: str | None = item.shaped.get("json")
    if cached is None:
        env = item.envelope
        body: dict[str, Any] = {"event_id": env.id, "type": env.type, "time": env.time.isoformat()}
        body.update(views.shown(env.type, env.data))
        cached = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
        item.shaped["json"] = cached
    return cached


def child_of(envelope: Envelope) -> tuple[str | None, str | None]:
    """(child_ref, case_id) an event is about, for the audit trail; (None, None) if none."""
    return views.child_of(envelope.data)
