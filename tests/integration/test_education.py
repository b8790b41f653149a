"""Legal-education events through the gateway: recorded by the officer, seen by the grid worker
who took part, confirmed by the school, counted in the term plan (schools with none too)."""

from __future__ import annotations

from typing import Any

from tests.support import Gateway

EVENT = {
    "school_id": "sch-02",
    "term": "2026-spring",
    "topic": "minors_protection_law",
    "held_on": "2026-03-04",
    "audience": 310,
    "participants": [
        {"user_id": "officer1", "role": "police_officer"},
        {"user_id": "grid1", "role": "grid_worker"},
        {"user_id": "volunteer1", "role": "safety_volunteer"},
        {"user_id": "social1", "role": "social_worker"},
    ],
}


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def test_an_event_is_recorded_seen_confirmed_and_counted(gateway: Gateway) -> None:
    r = await gateway.call("officer1", "POST", "/v1/education-events", json=EVENT)
    assert r.status_code == 201, r.text
    event_id = r.json()["id"]
    seen = (await gateway.get("grid1", "/v1/education-events", term="2026-spring")).json()
    assert [e["id"] for e in seen] == [event_id]
    assert (
        await gateway.get("teacher1", "/v1/education-events", school_id="sch-02")
    ).status_code == 404
    r = await gateway.call("teacher2", "POST", f"/v1/education-events/{event_id}/confirm")
    assert (r.status_code, r.json()["confirmed_by"]) == (200, "teacher2")
    again = await gateway.call("teacher2", "POST", f"/v1/education-events/{event_id}/confirm")
    assert again.status_code == 409
    plan = (await gateway.get("officer1", "/v1/education-plan", term="2026-spring")).json()
    rows = {row["school_id"]: row for row in plan}
    assert set(rows) == {"sch-01", "sch-02", "sch-03"}  # officer1's beat
    assert rows["sch-02"]["topics"] == ["minors_protection_law"]
    assert rows["sch-02"]["audience"] == 310
    assert rows["sch-01"]["events"] == 0  # none yet this term
    # The grid worker's role gives no case access at all.
    assert (await gateway.get("grid1", "/v1/tasks")).status_code == 403
    assert (
        await gateway.get("grid1", "/v1/counselling/entries", school_id="sch-01")
    ).status_code == 403


async def test_bad_education_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    names(await gateway.get("officer1", "/v1/education-plan", term="spring"), "term")
    names(await gateway.get("officer1", "/v1/education-plan"), "term")
    bad_topic = {**EVENT, "topic": "knitting"}
    names(await gateway.call("officer1", "POST", "/v1/education-events", json=bad_topic), "topic")
    unknown = {**EVENT, "school_id": "sch-99"}
    names(
        await gateway.call("supervisor1", "POST", "/v1/education-events", json=unknown), "school_id"
    )
    nobody = {**EVENT, "audience": 0}
    names(await gateway.call("officer1", "POST", "/v1/education-events", json=nobody), "audience")
    assert (await gateway.get("dispatcher1", "/v1/education-events")).json() == []
