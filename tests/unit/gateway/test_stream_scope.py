"""The live stream places a case by the case's own events (gateway/stream_views.py ScopeIndex),
as webhooks do and as case_tracking decides who may see a case."""

from __future__ import annotations

from typing import Any

from gateway.stream import Item
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
