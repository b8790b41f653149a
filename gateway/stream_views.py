"""What each role may see of the event feed: the rules are shared/event_views.py's (the same
for partner webhooks); here, the replica's bounded index of what the feed has shown about each
case, and the feed's own filters.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import Any, NamedTuple

from gateway.limits import Bounded
from gateway.stream_items import Item
from shared import event_views as views
from shared.event_views import VIEW_ROLES, CaseFacts
from shared.events import Envelope
from shared.identity import Principal

STREAM_ROLES = VIEW_ROLES
INDEX_KEYS = 100_000  # cases remembered per replica
SCOPES = 10_000  # distinct scopes shared between cases before the sharing table starts over


class Scope(NamedTuple):
    """What the index keeps of a case: immutable, so cases alike share one."""

    schools: tuple[str, ...]  # sorted: a tuple of one or two is a quarter of a frozenset
    orgs: tuple[str, ...]
    risk: str | None


class ScopeIndex:
    """Which schools, organisations and risk each case has, as far as the feed has seen.

    An entry per case lives as long as the replica (up to `max_keys`), so it is kept small: the
    case's key and a reference to a `Scope` shared by every case of the same schools,
    organisations and risk: ~190 bytes a case, where sets of its own took ~900."""

    def __init__(self, max_keys: int = INDEX_KEYS, max_scopes: int = SCOPES) -> None:
        self.cases = Bounded(max_keys)
        self._scopes: dict[Scope, Scope] = {}
        self._max_scopes = max_scopes

    def observe(self, item: Item) -> None:
        kind, data = item.envelope.type, item.envelope.data
        if (case_id := views.teaches(kind, data)) is None:
            return
        facts = _thawed(self.cases.get(case_id))
        views.learn(facts, data)
        self.cases.touch(case_id, self._shared(facts))

    def _shared(self, facts: CaseFacts) -> Scope:
        scope = Scope(_interned(facts.schools), _interned(facts.orgs), facts.risk)
        if len(self._scopes) >= self._max_scopes:
            self._scopes.clear()  # only the sharing is lost; every case keeps its scope
        return self._scopes.setdefault(scope, scope)

    def facts_of(self, item: Item) -> CaseFacts:
        """Worked out once per event, not once per client: the fan-out's hot path."""
        facts: CaseFacts | None = item.shaped.get("facts")
        if facts is None:
            facts = item.shaped["facts"] = self.facts(item.envelope)
        return facts

    def facts(self, envelope: Envelope) -> CaseFacts:
        known: Scope | None = self.cases.get(envelope.data.get("case_id") or "")
        return views.facts_of(envelope.data, _thawed(known) if known else None)


def _interned(names: set[str]) -> tuple[str, ...]:
    """Few schools and organisations, many cases: each name is kept once, not once per event."""
    return tuple(sorted(sys.intern(name) for name in names))


def _thawed(scope: Scope | None) -> CaseFacts:
    if scope is None:
        return CaseFacts()
    return CaseFacts(set(scope.schools), set(scope.orgs), scope.risk)


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
