"""Who sees a case's events is known from the case's own events, whatever order the streams
are read in: the report event (SCHOOL) may reach a reader after its case's (CASES)."""

from shared import event_views as views
from shared.identity import Principal, Role

SOCIAL = Principal(user_id="client:org-a", role=Role.social_worker, org_id="org-a")
OTHER = Principal(user_id="client:org-b", role=Role.social_worker, org_id="org-b")
OFFICER = Principal(user_id="client:beat", role=Role.police_officer, school_ids=("sch-01",))


def test_a_case_opened_before_its_report_is_read_places_the_case_by_itself() -> None:
    data = {
        "case_id": "c1",
        "child_ref": "r1",
        "school_id": "sch-01",
        "risk_level": "high",
        "social_org_id": "org-a",
    }
    facts = views.CaseFacts()
    views.learn(facts, data)  # no report event read yet
    seen = views.facts_of(data, facts)
    assert views.visible(SOCIAL, "case.opened", data, seen)
    assert views.visible(OFFICER, "case.opened", data, seen)
    assert not views.visible(OTHER, "case.opened", data, seen)

    # The case's later events, which name neither, are placed by what was learnt.
    later = {"case_id": "c1", "by": "u", "at": "2026-11-29T10:00:00Z"}
    assert views.visible(SOCIAL, "case.closed", later, views.facts_of(later, facts))
    assert not views.visible(OTHER, "case.closed", later, views.facts_of(later, facts))


def test_a_second_reports_case_update_adds_its_organisation() -> None:
    facts = views.CaseFacts(schools={"sch-01"}, orgs={"org-a"})
    data = {
        "case_id": "c1",
        "report_id": "rep-2",
        "risk_level": "high",
        "school_id": "sch-02",
        "social_org_id": "org-b",
    }
    views.learn(facts, data)
    assert facts.orgs == {"org-a", "org-b"}
    assert facts.schools == {"sch-01", "sch-02"}
