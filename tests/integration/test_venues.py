"""Venue supervision through the gateway on real NATS and SQLite: register, sign the letter,
inspect (a failed item: a rectification notice), the overdue alert to the officer in charge and
the desk, once, re-inspection closing it, the count per area, and 422s naming the field."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from services.patrol.inspections.domain import VENUE_CHECKLISTS
from services.patrol.inspections.sweep import sweep_overdue
from shared.contracts.inspections import ChecklistKind
from tests.integration.matrix_patrol import venue_body
from tests.support import Gateway, eventually


def hotel(*failed: str) -> dict[str, Any]:
    items = VENUE_CHECKLISTS[ChecklistKind.hotel]
    return {"results": [{"item": i.code, "passed": i.code not in failed} for i in items]}


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def inbox_kinds(gateway: Gateway, user: str) -> list[str]:
    return [n["kind"] for n in (await gateway.get(user, "/v1/notifications")).json()]


async def test_a_venue_inspection_cycle_with_the_overdue_alert(gateway: Gateway) -> None:
    r = await gateway.call("officer1", "POST", "/v1/venues", json=venue_body())
    assert r.status_code == 201, r.text
    venue = r.json()
    assert venue["officer_id"] == "officer1"
    letter = {"signed_on": "2026-01-10", "expires_on": "2029-01-09"}
    r = await gateway.call("officer1", "PUT", f"/v1/venues/{venue['id']}/letter", json=letter)
    assert r.json()["letter"] == letter
    path = f"/v1/venues/{venue['id']}/inspections"
    r = await gateway.call("officer1", "POST", path, json=hotel("fire_safety", "minor_id_checked"))
    assert r.status_code == 201, r.text
    assert len(r.json()["notice_ids"]) == 2
    [listed] = (await gateway.get("dispatcher1", path)).json()
    assert listed["id"] == r.json()["id"]

    notices = (await gateway.get("dispatcher1", "/v1/rectifications", status="open")).json()
    mine = {n["item"]: n for n in notices if n["venue_id"] == venue["id"]}
    assert set(mine) == {"fire_safety", "minor_id_checked"}
    runtime = gateway.apps["patrol"].state.runtime
    due = datetime.fromisoformat(mine["minor_id_checked"]["deadline"])
    assert await sweep_overdue(runtime, now=due + timedelta(hours=1)) == [
        mine["minor_id_checked"]["id"]
    ]
    assert await sweep_overdue(runtime, now=due + timedelta(hours=2)) == []
    for user in ("officer1", "dispatcher1"):

        async def told(user: str = user) -> bool:
            return "rectification_overdue" in await inbox_kinds(gateway, user)

        await eventually(told)
        assert (await inbox_kinds(gateway, user)).count("rectification_overdue") == 1
    fire = f"/v1/rectifications/{mine['fire_safety']['id']}/reinspect"
    assert (await gateway.call("officer4", "POST", fire, json={"passed": True})).status_code == 404
    r = await gateway.call("officer1", "POST", fire, json={"passed": True})
    assert r.json()["status"] == "closed"
    areas = (await gateway.get("supervisor1", "/v1/venue-areas")).json()
    assert {"area": "grid-matrix", "venues": 1} in areas


async def test_bad_venue_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    names(
        await gateway.call("officer1", "POST", "/v1/venues", json={**venue_body(), "kind": "bar"}),
        "kind",
    )
    venue = (await gateway.call("officer1", "POST", "/v1/venues", json=venue_body())).json()
    letter = {"signed_on": "2026-01-10", "expires_on": "2026-01-10"}
    path = f"/v1/venues/{venue['id']}"
    names(await gateway.call("officer1", "PUT", f"{path}/letter", json=letter), "expires_on")
    half = {"results": hotel()["results"][:3]}
    names(await gateway.call("officer1", "POST", f"{path}/inspections", json=half), "results")
    assert (await gateway.get("dispatcher1", "/v1/venues/ven-nothing")).status_code == 404
    names(await gateway.get("dispatcher1", "/v1/venues", kind="bar"), "kind")
