"""A case's outcomes through the gateway with real NATS: dispositions (who, when, a sealed
note; in the chronology; counted by kind) and the supervisor's risk review up or down."""

from __future__ import annotations

from shared.bus import Bus
from tests.integration.tasks import new_child, stream_text
from tests.support import Gateway

NOTE = "Ma Chao and his parents met the head teacher; he apologised to the class"


async def test_dispositions_are_recorded_in_the_chronology_and_counted_by_kind(
    gateway: Gateway, admin_bus: Bus
) -> None:
    police, _ = await new_child(gateway, "Ma Chao")
    case_id = police["case_id"]
    before = (await gateway.get("dispatcher1", "/v1/dispositions/counts")).json()["counts"]
    assert before == {k: 0 for k in before}
    assert set(before) == {
        "education_with_school",
        "detention_not_executed",
        "counselling_referral",
        "family_supervision",
        "other",
    }
    path = f"/v1/cases/{case_id}/dispositions"
    bad = await gateway.call("officer1", "POST", path, json={"kind": "prison", "note": "x"})
    assert (bad.status_code, bad.json()["detail"][0]["loc"]) == (422, ["body", "kind"])
    assert (
        await gateway.call("teacher1", "POST", path, json={"kind": "other", "note": "x"})
    ).status_code == 403
    for user, kind in [
        ("officer1", "education_with_school"),
        ("social1", "family_supervision"),
        ("dispatcher1", "education_with_school"),
    ]:
        r = await gateway.call(user, "POST", path, json={"kind": kind, "note": NOTE})
        assert r.status_code == 201, r.text
        assert (r.json()["by"], r.json()["kind"]) == (user, kind)
    counts = (await gateway.get("supervisor1", "/v1/dispositions/counts")).json()["counts"]
    assert (counts["education_with_school"], counts["family_supervision"]) == (2, 1)
    assert (await gateway.get("officer1", "/v1/dispositions/counts")).status_code == 403

    case = (await gateway.get("dispatcher1", f"/v1/cases/{case_id}")).json()
    assert [e["text"] for e in case["chronology"] if e["kind"] == "disposition"] == [
        "Disposition by officer1: education_with_school",
        "Disposition by social1: family_supervision",
        "Disposition by dispatcher1: education_with_school",
    ]
    assert "Ma Chao" not in str(case)
    assert "Ma Chao" not in await stream_text(admin_bus, "CASES")


async def test_the_supervisor_reviews_the_risk_up_or_down_with_a_reason(
    gateway: Gateway,
) -> None:
    police, _ = await new_child(gateway, "Risk Child")  # bullying: high
    path = f"/v1/cases/{police['case_id']}/risk"
    body = {"risk_level": "low", "reason": "Bully moved school; child settled"}
    assert (await gateway.call("dispatcher1", "POST", path, json=body)).status_code == 403
    empty = await gateway.call("supervisor1", "POST", path, json={**body, "reason": " "})
    assert (empty.status_code, empty.json()["detail"][0]["loc"]) == (422, ["body", "reason"])
    down = await gateway.call("supervisor1", "POST", path, json=body)
    assert down.status_code == 200, down.text
    assert down.json()["risk_level"] == "low"
    last = down.json()["chronology"][-1]
    assert (last["kind"], last["text"]) == (
        "risk_reviewed",
        "Risk high → low by supervisor1: Bully moved school; child settled",
    )
    same = await gateway.call("supervisor1", "POST", path, json=body)
    assert (same.status_code, same.json()["detail"]) == (409, "the case's risk is low already")
    up = await gateway.call(
        "supervisor1", "POST", path, json={"risk_level": "critical", "reason": "New threats"}
    )
    assert up.json()["risk_level"] == "critical"
