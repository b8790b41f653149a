"""The live stream places a case by the case's own events (gateway/stream_views.py ScopeIndex),
as webhooks do and as case_tracking decides who may see a case."""

from __future__ import annotations

import json
import tracemalloc
from typing import Any

from gateway.stream_items import Item
from gateway.stream_views import ScopeIndex
from shared import event_views as views
from shared.events import Envelope
from shared.identity import Principal, Role

SOCIAL = Principal(user_id="u-social", role=Role.social_worker, org_id="org-a")
OTHER = Principal(user_id="u-other", role=Role.social_worker, org_id="org-b")


def item(kind: str, data: dict[str, Any]) -> Item:
    envelope = Envelope(
        type=kind, version=1, source="case_tracking", subject="s", correlation_id="c", data=data
    )
    return Item(stream="CASES", seq=1, at=0.0, envelope=envelope)


def test_a_childs_later_case_is_shown_only_to_its_own_organisation() -> None:
    """As case_tracking decides: an organisation that served the child's earlier case does not
    see the later one (it once did on the live stream, which remembered every organisation of
    the child's reports)."""
    index = ScopeIndex()
    earlier = {"case_id": "c1", "child_ref": "r1", "school_id": "sch-01", "social_org_id": "org-b"}
    later = {"case_id": "c2", "child_ref": "r1", "school_id": "sch-02", "social_org_id": "org-a"}
    for kind, data in [
        ("school.report.filed", {**earlier, "report_id": "rep-1", "severity": "high"}),
        ("case.opened", {**earlier, "risk_level": "high"}),
        ("school.report.filed", {**later, "report_id": "rep-2", "severity": "high"}),
        ("case.opened", {**later, "risk_level": "high"}),
    ]:
        index.observe(item(kind, data))
    task = item("task.created", {"case_id": "c2", "task_id": "t1", "assignee_org_id": "org-a"})
    facts = index.facts_of(task)
    assert facts.orgs == {"org-a"}
    assert views.visible(SOCIAL, "task.created", task.envelope.data, facts)
    assert not views.visible(OTHER, "task.created", task.envelope.data, facts)


def _case_events(case_id: str, school: str, org: str) -> list[Item]:
    # Decoded from bytes as the hub does, so every name arrives as a string of its own.
    data = {"case_id": case_id, "school_id": school, "social_org_id": org, "risk_level": "high"}
    return [
        item("case.opened", json.loads(json.dumps(data))),
        item("task.created", json.loads(json.dumps({"case_id": case_id, "assignee_org_id": "p"}))),
        item("task.created", json.loads(json.dumps({"case_id": case_id, "assignee_org_id": org}))),
    ]


def test_the_index_keeps_a_case_in_a_few_hundred_bytes() -> None:
    """An entry per case lives as long as the replica (up to 100 k cases): with sets of its own
    a case took ~900 bytes and a soak's gateway grew with every case opened."""
    cases, schools = 5_000, 100
    events = [
        _case_events(f"case-{n:06d}", f"sch-{n % schools:03d}", f"org-{n % 7}")
        for n in range(cases)
    ]
    index = ScopeIndex()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for case in events:
            for event in case:
                index.observe(event)
        per_case = (tracemalloc.get_traced_memory()[0] - before) / cases
    finally:
        tracemalloc.stop()
    assert per_case < 300, f"{per_case:.0f} bytes per case"
    facts = index.facts_of(item("task.acknowledged", {"case_id": "case-000123"}))
    assert (facts.schools, facts.orgs, facts.risk) == ({"sch-023"}, {"org-4", "p"}, "high")


def test_cases_keep_their_scope_when_the_sharing_starts_over() -> None:
    index = ScopeIndex(max_scopes=2)
    for n in range(5):
        for event in _case_events(f"c{n}", f"sch-{n}", f"org-{n}"):
            index.observe(event)
    for n in range(5):
        facts = index.facts(item("case.closed", {"case_id": f"c{n}"}).envelope)
        assert (facts.schools, facts.orgs) == ({f"sch-{n}"}, {f"org-{n}", "p"})
