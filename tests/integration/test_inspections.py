"""Safety inspections through the gateway on real NATS and SQLite: one cycle end to end
(inspection → notices → fixed → re-inspection), the overdue alert in three inboxes, once,
the figures per school, the checklist extended, and 422s naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.patrol.inspections.sweep import sweep_overdue
from tests.support import Gateway, eventually

CODES = ("one_button_alarm", "gate_staff", "cctv", "fire_equipment")


def inspection(*failed: str, school: str = "sch-01", extra: tuple[str, ...] = ()) -> dict[str, Any]:
    results = [{"item": c, "passed": c not in failed} for c in (*CODES, *extra)]
    return {"school_id": school, "results": results}


async def inspect(gateway: Gateway, *failed: str) -> dict[str, Any]:
    r = await gateway.call("officer1", "POST", "/v1/inspections", json=inspection(*failed))
    assert r.status_code == 201, r.text
    return dict(r.json())


async def kinds(gateway: Gateway, user: str) -> list[str]:
    return [n["kind"] for n in (await gateway.get(user, "/v1/notifications")).json()]


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def test_one_inspection_cycle_end_to_end(gateway: Gateway) -> None:
    done = await inspect(gateway, "cctv", "gate_staff")
    assert len(done["notice_ids"]) == 2
    notices = (await gateway.get("safety1", "/v1/rectifications", status="open")).json()
    assert {n["item"] for n in notices} == {"cctv", "gate_staff"}
    cctv = next(n for n in notices if n["item"] == "cctv")
    await eventually(lambda: _has(gateway, "safety1", "rectification_issued"))

    path = f"/v1/rectifications/{cctv['id']}"
    r = await gateway.call(
        "safety1", "POST", f"{path}/fixed", json={"note": "Two cameras replaced"}
    )
    assert (r.status_code, r.json()["status"]) == (200, "fixed_reported")
    await eventually(lambda: _has(gateway, "officer1", "rectification_fixed"))
    again = (datetime.now(UTC) + timedelta(days=7)).isoformat()
    r = await gateway.call(
        "officer1", "POST", f"{path}/reinspect", json={"passed": False, "new_deadline": again}
    )
    assert (r.json()["status"], r.json()["reinspections"]) == ("open", 1)
    r = await gateway.call("safety1", "POST", f"{path}/fixed", json={"note": "Wiring fixed"})
    assert r.status_code == 200, r.text
    r = await gateway.call("officer1", "POST", f"{path}/reinspect", json={"passed": True})
    assert (r.json()["status"], r.json()["reinspections"]) == ("closed", 2)

    [mine] = (await gateway.get("safety1", "/v1/inspection-figures")).json()
    assert (
        mine["school_id"],
        mine["items_failed"],
        mine["notices_open"],
        mine["notices_closed"],
    ) == ("sch-01", 2, 1, 1)
    teacher10 = (await gateway.get("teacher10", "/v1/inspection-figures")).json()
    assert teacher10 == []  # sch-10 has had no inspection; sch-01's are not hers
    assert (
        await gateway.get("teacher10", "/v1/rectifications", school_id="sch-01")
    ).status_code == 404


async def _has(gateway: Gateway, user: str, kind: str) -> bool:
    return kind in await kinds(gateway, user)


async def test_an_overdue_notice_alerts_the_school_the_officer_and_the_desk_once(
    gateway: Gateway,
) -> None:
    done = await inspect(gateway, "gate_staff")
    [notice] = (await gateway.get("officer1", "/v1/rectifications", school_id="sch-01")).json()
    runtime = gateway.apps["patrol"].state.runtime
    due = datetime.fromisoformat(notice["deadline"])
    assert await sweep_overdue(runtime, now=due) == []
    assert await sweep_overdue(runtime, now=due + timedelta(hours=1)) == done["notice_ids"]
    assert await sweep_overdue(runtime, now=due + timedelta(days=2)) == []
    for user in ("safety1", "teacher1", "officer1", "dispatcher1"):

        async def told(user: str = user) -> bool:
            return await _has(gateway, user, "rectification_overdue")

        await eventually(told)
        assert (await kinds(gateway, user)).count("rectification_overdue") == 1, user
    assert "rectification_overdue" not in await kinds(gateway, "teacher2")  # another school


async def test_the_checklist_is_data_and_grows(gateway: Gateway) -> None:
    item = {"code": "visitor_log", "label": "Visitors signed in at the gate", "deadline_days": 5}
    r = await gateway.call("supervisor1", "POST", "/v1/inspection-checklist", json=item)
    assert r.status_code == 201, r.text
    again = await gateway.call("supervisor1", "POST", "/v1/inspection-checklist", json=item)
    assert again.status_code == 409
    codes = [i["code"] for i in (await gateway.get("officer1", "/v1/inspection-checklist")).json()]
    assert "visitor_log" in codes
    names(await gateway.call("officer1", "POST", "/v1/inspections", json=inspection()), "results")
    r = await gateway.call(
        "officer1",
        "POST",
        "/v1/inspections",
        json=inspection("visitor_log", extra=("visitor_log",)),
    )
    assert r.status_code == 201, r.text


async def test_bad_inspection_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    half = {"school_id": "sch-01", "results": inspection()["results"][:2]}
    names(await gateway.call("officer1", "POST", "/v1/inspections", json=half), "results")
    done = await inspect(gateway, "cctv")
    path = f"/v1/rectifications/{done['notice_ids'][0]}/reinspect"
    names(await gateway.call("officer1", "POST", path, json={"passed": False}), "new_deadline")
    past = {"passed": False, "new_deadline": "2020-01-01T00:00:00+00:00"}
    names(await gateway.call("officer1", "POST", path, json=past), "new_deadline")
    naive = {"passed": False, "new_deadline": "2030-01-01T00:00:00"}
    names(await gateway.call("officer1", "POST", path, json=naive), "new_deadline")
    bad_status = await gateway.get("dispatcher1", "/v1/rectifications", status="lost")
    names(bad_status, "status")
    [untouched] = (await gateway.get("officer1", "/v1/rectifications", school_id="sch-01")).json()
    assert (untouched["status"], untouched["reinspections"]) == ("open", 0)


async def test_inspection_lists_page_by_link(gateway: Gateway) -> None:
    for _ in range(3):
        await inspect(gateway, "cctv")
    seen: list[str] = []
    url: str | None = "/v1/rectifications"
    params: dict[str, Any] | None = {"limit": 2}
    headers = await gateway.auth("dispatcher1")
    while url:
        r = await gateway.client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        seen += [n["id"] for n in r.json()]
        url, params = r.links.get("next", {}).get("url"), None
    assert len(seen) == len(set(seen)) == 3
