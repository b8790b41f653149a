"""The assistance ledger through the gateway with real NATS, deadlines scaled so that a day is
1.7 s (scale 0.00002): monitoring, follow-ups with sealed outcomes, the missed follow-up alerted
once, the ledger per scope and paged, closing a case ends its monitoring."""

from __future__ import annotations

from typing import Any

import pytest

from shared.bus import Bus
from tests.integration.tasks import new_child, stream_events, stream_text
from tests.integration.test_paging import walk
from tests.support import Gateway, eventually

NOTE = "Tian Jing's grandmother says she sleeps at home again and eats with the family"


@pytest.fixture
def case_tracking_settings() -> dict[str, Any]:
    return {"deadline_scale": 0.00002}


async def monitor(gw: Gateway, user: str, case_id: str, **body: Any) -> Any:
    body = {"responsible_user_id": "officer1", "interval_days": 1, **body}
    return await gw.call(user, "POST", f"/v1/cases/{case_id}/monitoring", json=body)


async def follow_up(gw: Gateway, user: str, case_id: str, **body: Any) -> Any:
    body = {"contact_type": "home_visit", "outcome": NOTE, **body}
    return await gw.call(user, "POST", f"/v1/cases/{case_id}/follow-ups", json=body)


async def inbox(gw: Gateway, user: str, kind: str, case_id: str) -> list[dict[str, Any]]:
    entries = (await gw.get(user, "/v1/notifications", limit=500)).json()
    return [n for n in entries if (n["kind"], n["case_id"]) == (kind, case_id)]


async def test_a_monitored_child_is_followed_up_and_a_missed_follow_up_is_alerted_once(
    gateway: Gateway, admin_bus: Bus
) -> None:
    police, _ = await new_child(gateway, "Tian Jing")
    case_id = police["case_id"]
    early = await follow_up(gateway, "officer1", case_id)
    assert (early.status_code, early.json()["detail"]) == (409, "the case is not under monitoring")
    bad = await monitor(gateway, "dispatcher1", case_id, interval_days=0)
    assert bad.status_code == 422
    assert bad.json()["detail"][0]["loc"] == ["body", "interval_days"]
    assert (await monitor(gateway, "teacher1", case_id)).status_code == 403

    started = await monitor(gateway, "dispatcher1", case_id)
    assert started.status_code == 200, started.text
    assert started.json()["follow_ups"] == 0
    held = await follow_up(gateway, "officer1", case_id)
    assert held.status_code == 200, held.text
    assert held.json()["follow_ups"] == 1
    assert held.json()["last_contact_type"] == "home_visit"
    assert held.json()["next_due_at"] > started.json()["next_due_at"]

    # Not followed up again: after a (scaled) day the responsible officer and the desk hear.
    async def alerted() -> list[dict[str, Any]]:
        return await inbox(gateway, "officer1", "follow_up_overdue", case_id)

    assert len(await eventually(alerted, within=20)) == 1
    assert len(await inbox(gateway, "dispatcher1", "follow_up_overdue", case_id)) == 1
    events = await stream_events(admin_bus, "CASES", "case.followup.overdue.v1")
    assert [e["data"]["case_id"] for e in events] == [case_id]  # once, for its due date

    case = (await gateway.get("dispatcher1", f"/v1/cases/{case_id}")).json()
    kinds = [e["kind"] for e in case["chronology"]]
    assert {"monitoring", "follow_up", "follow_up_overdue"} <= set(kinds)
    assert "Tian Jing" not in str(case)
    assert "Tian Jing" not in await stream_text(admin_bus, "CASES", "TIMERS")

    closed = await gateway.call(
        "supervisor1", "POST", f"/v1/cases/{case_id}/close", json={"reason": "safe at home"}
    )
    assert closed.status_code == 200
    assert case_id not in {
        e["case_id"] for e in (await gateway.get("dispatcher1", "/v1/ledger")).json()
    }
    assert (await follow_up(gateway, "officer1", case_id)).status_code == 409


async def test_the_ledger_lists_each_scopes_monitored_children_soonest_first_in_pages(
    gateway: Gateway,
) -> None:
    mine = [await new_child(gateway, f"Ledger Child {n}") for n in range(3)]
    theirs = await new_child(gateway, "Ledger Far Child", user="teacher10", school_id="sch-10")
    for n, (police, _) in enumerate(mine):
        r = await monitor(gateway, "dispatcher1", police["case_id"], interval_days=30 - n)
        assert r.status_code == 200, r.text
    assert (await monitor(gateway, "officer4", theirs[0]["case_id"])).status_code == 200

    pages = await walk(gateway, "dispatcher1", "/v1/ledger", limit=2)
    assert [len(p) for p in pages] == [2, 2]
    rows = [e for p in pages for e in p]
    assert [e["next_due_at"] for e in rows] == sorted(e["next_due_at"] for e in rows)
    assert all(set(e) >= {"case_id", "child_ref", "next_due_at"} for e in rows)
    assert "Ledger" not in str(rows)  # pseudonyms only

    own = {p["case_id"] for p, _ in mine}
    officer = {e["case_id"] for p in await walk(gateway, "officer1", "/v1/ledger") for e in p}
    assert officer == own  # sch-01 is in his beat, sch-10 is not
    far = {e["case_id"] for p in await walk(gateway, "officer4", "/v1/ledger") for e in p}
    assert far == {theirs[0]["case_id"]}
    social = {e["case_id"] for p in await walk(gateway, "social1", "/v1/ledger") for e in p}
    assert social == own  # org-rainbow serves sch-01
    assert (await gateway.get("teacher1", "/v1/ledger")).status_code == 403
