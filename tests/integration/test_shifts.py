"""Shifts and school-gate posts through the gateway on real NATS and SQLite: a post planned,
checked in by a volunteer on it, another nobody came to told to the desk once, and the day's
plan weighted by the venues per grid area; 422s naming the field."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from services.patrol.shifts.sweep import sweep_unstaffed
from tests.integration.matrix_patrol import ON_OWN_POST, post_body, venue_body
from tests.support import Gateway, eventually

GRACE = timedelta(minutes=10)


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def test_posts_check_in_and_the_desk_hears_of_an_empty_one(gateway: Gateway) -> None:
    manned = (
        await gateway.call(
            "dispatcher1", "POST", "/v1/posts", json=post_body("sch-01", ON_OWN_POST)
        )
    ).json()
    empty = (
        await gateway.call(
            "dispatcher1", "POST", "/v1/posts", json=post_body("sch-02", ON_OWN_POST)
        )
    ).json()
    r = await gateway.call("volunteer1", "POST", f"/v1/posts/{manned['id']}/check-in")
    assert (r.status_code, r.json()["status"]) == (200, "checked_in")
    runtime = gateway.apps["patrol"].state.runtime
    start = datetime.fromisoformat(empty["starts_at"])
    assert await sweep_unstaffed(
        runtime, now=start + GRACE + timedelta(seconds=1), grace=GRACE
    ) == [empty["id"]]
    assert await sweep_unstaffed(runtime, now=start + GRACE * 3, grace=GRACE) == []

    async def told() -> list[dict[str, Any]]:
        inbox = (await gateway.get("dispatcher1", "/v1/notifications")).json()
        return [n for n in inbox if n["kind"] == "post_unstaffed"]

    [alert] = await eventually(told)
    assert "sch-02" in alert["title"]
    mine = (await gateway.get("volunteer1", "/v1/posts")).json()
    assert {p["status"] for p in mine} == {"checked_in", "unstaffed"}


async def test_the_plan_shows_the_weighting_by_venues(gateway: Gateway) -> None:
    for area in ("grid-old", "grid-old", "grid-old", "grid-park"):
        body = {**venue_body(), "area": area}
        assert (await gateway.call("officer1", "POST", "/v1/venues", json=body)).status_code == 201
    now = datetime.now(UTC)
    for area in ("grid-park", "grid-park"):
        shift = {
            "kind": "vehicle",
            "area": area,
            "starts_at": now.isoformat(),
            "ends_at": (now + timedelta(hours=1)).isoformat(),
            "officers": ["officer1"],
        }
        assert (
            await gateway.call("supervisor1", "POST", "/v1/shifts", json=shift)
        ).status_code == 201
    [shift] = (await gateway.get("officer1", "/v1/shifts")).json()[:1]
    day = (
        datetime.fromisoformat(shift["starts_at"])
        .astimezone(gateway.apps["patrol"].state.zone)
        .date()
    )
    plan = (await gateway.get("officer1", "/v1/patrol-plan", day=str(day))).json()
    areas = {
        a["area"]: (a["venues"], a["weight"], a["suggested_shifts"], a["shifts"])
        for a in plan["areas"]
    }
    assert areas == {"grid-old": (3, 0.75, 2, 0), "grid-park": (1, 0.25, 0, 2)}
    assert plan["street_shifts"] == 2


async def test_bad_plans_are_a_422_naming_the_field(gateway: Gateway) -> None:
    backwards = {**post_body("sch-01", ON_OWN_POST)}
    backwards["ends_at"] = backwards["starts_at"]
    names(await gateway.call("dispatcher1", "POST", "/v1/posts", json=backwards), "ends_at")
    bad_role = post_body("sch-01", {"teacher1": "teacher"})
    names(await gateway.call("dispatcher1", "POST", "/v1/posts", json=bad_role), "role")
    names(await gateway.get("officer1", "/v1/patrol-plan"), "day")
    names(await gateway.get("officer1", "/v1/shifts", day="monday"), "day")
