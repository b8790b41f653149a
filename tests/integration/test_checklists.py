"""Checklists as data, one mechanism for schools and every venue kind: seeded, extended and
retired through the same endpoints; a retired item leaves past inspections and open notices
as they were. And a venue's status (suspended, reopened, closed) through the gateway."""

from __future__ import annotations

import json
from typing import Any

from shared.bus import Bus
from tests.integration.matrix_patrol import venue_body
from tests.integration.test_inspections import CODES, inspection, names
from tests.support import Gateway, eventually

RETIRE = "/v1/inspection-checklist/{kind}/{code}/retire"


async def codes(gateway: Gateway, kind: str, **params: Any) -> list[str]:
    r = await gateway.get("officer1", "/v1/inspection-checklist", kind=kind, **params)
    assert r.status_code == 200, r.text
    return [i["code"] for i in r.json()]


async def test_every_kind_has_its_seeded_checklist_through_one_endpoint(gateway: Gateway) -> None:
    assert sorted(await codes(gateway, "school")) == sorted(CODES)
    hotel = await codes(gateway, "hotel")
    assert len([c for c in hotel if c.startswith("minor_")]) == 5  # the five mandatory checks
    for kind in ("hotel", "entertainment", "short_term_rental"):
        assert {"signs_drugs_gambling_prostitution", "fire_safety"} <= set(
            await codes(gateway, kind)
        ), kind
    r = await gateway.get("officer1", "/v1/inspection-checklist", kind="bank")
    names(r, "kind")


async def test_a_retired_school_item_is_no_longer_asked_and_its_notice_lives_on(
    gateway: Gateway,
) -> None:
    r = await gateway.call("officer1", "POST", "/v1/inspections", json=inspection("cctv"))
    assert r.status_code == 201, r.text
    [notice_id] = r.json()["notice_ids"]
    past = r.json()["id"]

    path = RETIRE.format(kind="school", code="cctv")
    assert (await gateway.call("officer1", "POST", path)).status_code == 403
    r = await gateway.call("supervisor1", "POST", path)
    assert r.status_code == 200, r.text
    assert (r.json()["status"], r.json()["retired_by"]) == ("retired", "supervisor1")
    assert (await gateway.call("admin1", "POST", path)).status_code == 409
    missing = RETIRE.format(kind="school", code="no_such_item")
    assert (await gateway.call("supervisor1", "POST", missing)).status_code == 404
    bad_kind = RETIRE.format(kind="bank", code="cctv")
    names(await gateway.call("supervisor1", "POST", bad_kind), "kind")

    assert "cctv" not in await codes(gateway, "school")
    assert "cctv" in await codes(gateway, "school", retired="true")  # still named
    # A new inspection answers the active items only; answering the retired one is a 422.
    others = tuple(c for c in CODES if c != "cctv")
    body = {"school_id": "sch-01", "results": [{"item": c, "passed": True} for c in others]}
    r = await gateway.call("officer1", "POST", "/v1/inspections", json=body)
    assert r.status_code == 201, r.text
    names(await gateway.call("officer1", "POST", "/v1/inspections", json=inspection()), "results")
    # The past inspection and its open notice keep it, and the notice runs its course.
    listed = (await gateway.get("officer1", "/v1/inspections", school_id="sch-01")).json()
    [old] = [i for i in listed if i["id"] == past]
    assert "cctv" in {x["item"] for x in old["results"]}
    [notice] = [
        n
        for n in (await gateway.get("safety1", "/v1/rectifications")).json()
        if n["id"] == notice_id
    ]
    assert (notice["item"], notice["label"], notice["status"]) == (
        "cctv",
        "CCTV in working order",
        "open",
    )
    fixed = f"/v1/rectifications/{notice_id}/fixed"
    assert (
        await gateway.call("safety1", "POST", fixed, json={"note": "New DVR"})
    ).status_code == 200
    r = await gateway.call(
        "officer1", "POST", f"/v1/rectifications/{notice_id}/reinspect", json={"passed": True}
    )
    assert r.json()["status"] == "closed"


async def test_a_venue_kinds_checklist_is_extended_and_retired_the_same_way(
    gateway: Gateway,
) -> None:
    item = {"code": "cctv_at_entrance", "label": "CCTV at the entrance", "deadline_days": 7}
    r = await gateway.call(
        "supervisor1", "POST", "/v1/inspection-checklist", json={**item, "kind": "hotel"}
    )
    assert (r.status_code, r.json()["kind"]) == (201, "hotel")
    again = await gateway.call(
        "admin1", "POST", "/v1/inspection-checklist", json={**item, "kind": "hotel"}
    )
    assert again.status_code == 409
    assert "cctv_at_entrance" not in await codes(gateway, "school")  # its kind's only
    r = await gateway.call(
        "supervisor1", "POST", RETIRE.format(kind="hotel", code="minor_rounds_kept")
    )
    assert r.status_code == 200, r.text
    hotel = await codes(gateway, "hotel")
    assert "cctv_at_entrance" in hotel
    assert "minor_rounds_kept" not in hotel

    r = await gateway.call("officer1", "POST", "/v1/venues", json=venue_body())
    venue_id = r.json()["id"]
    path = f"/v1/venues/{venue_id}/inspections"
    results = [{"item": c, "passed": c != "cctv_at_entrance"} for c in hotel]
    r = await gateway.call("officer1", "POST", path, json={"results": results})
    assert r.status_code == 201, r.text
    [notice_id] = r.json()["notice_ids"]
    notices = (await gateway.get("dispatcher1", "/v1/rectifications")).json()
    [notice] = [n for n in notices if n["id"] == notice_id]
    assert notice["label"].endswith("CCTV at the entrance")
    stale = [*results, {"item": "minor_rounds_kept", "passed": True}]
    names(await gateway.call("officer1", "POST", path, json={"results": stale}), "results")


async def _areas(gateway: Gateway) -> dict[str, int]:
    r = await gateway.get("dispatcher1", "/v1/venue-areas")
    return {a["area"]: a["venues"] for a in r.json()}


async def test_a_venues_status_changes_by_its_officer_or_the_supervisor(
    gateway: Gateway, admin_bus: Bus
) -> None:
    body = {**venue_body("officer1"), "area": "grid-status"}
    r = await gateway.call("supervisor1", "POST", "/v1/venues", json=body)
    venue_id = r.json()["id"]
    path = f"/v1/venues/{venue_id}/status"
    assert (await _areas(gateway))["grid-status"] == 1
    suspend = {"status": "suspended", "reason": "Fire exits blocked"}
    assert (await gateway.call("officer4", "POST", path, json=suspend)).status_code == 403
    assert (await gateway.call("dispatcher1", "POST", path, json=suspend)).status_code == 403
    r = await gateway.call("officer1", "POST", "/v1/venues/ven-nope/status", json=suspend)
    assert r.status_code == 404
    names(
        await gateway.call("officer1", "POST", path, json={"status": "gone", "reason": "x"}),
        "status",
    )
    names(await gateway.call("officer1", "POST", path, json={"status": "closed"}), "reason")
    names(
        await gateway.call("officer1", "POST", path, json={"status": "closed", "reason": ""}),
        "reason",
    )

    r = await gateway.call("officer1", "POST", path, json=suspend)
    assert (r.status_code, r.json()["status"]) == (200, "suspended"), r.text
    assert r.json()["status_reason"] == "Fire exits blocked"
    assert (await _areas(gateway))["grid-status"] == 0  # the plan weighs active venues
    assert (await gateway.call("officer1", "POST", path, json=suspend)).status_code == 409
    reopen = {"status": "active", "reason": "Exits cleared, re-inspected"}
    r = await gateway.call("supervisor1", "POST", path, json=reopen)
    assert (r.status_code, r.json()["status"]) == (200, "active")
    assert (await _areas(gateway))["grid-status"] == 1
    closed = {"status": "closed", "reason": "Out of business"}
    r = await gateway.call("officer1", "POST", path, json=closed)
    assert (r.status_code, r.json()["status"]) == (200, "closed")
    assert (await _areas(gateway))["grid-status"] == 0
    r = await gateway.call("supervisor1", "POST", path, json=reopen)
    assert r.status_code == 409  # closed is final
    assert "closed" in r.text
    assert (await gateway.get("dispatcher1", f"/v1/venues/{venue_id}")).json()["status"] == "closed"

    async def last_change() -> dict[str, Any] | None:
        try:
            msg = await admin_bus.js.get_last_msg("PATROL", "patrol.venue.status_changed.v1")
        except Exception:
            return None
        data: dict[str, Any] = json.loads(msg.data or b"{}")["data"]
        return data if data["status"] == "closed" else None

    event = await eventually(last_change)
    assert (event["venue_id"], event["previous"], event["by"]) == (venue_id, "active", "officer1")
