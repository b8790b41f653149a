"""The school registry's writes (admin): a school registered is where its reports' tasks go;
a batch is all or nothing, on SQLite and PostgreSQL (every_store), its refusals naming the
field by index."""

from __future__ import annotations

from typing import Any

import httpx

from shared.identity import Principal, Role
from shared.web import INTERNAL_HEADER
from tests.support import REPORT, Gateway, every_store

__all__ = ["every_store"]


def school(school_id: str, officer: str = "officer2", **extra: Any) -> dict[str, Any]:
    return {
        "id": school_id,
        "name": f"New School {school_id}",
        "district": "Xijie station district",
        "community_officer_id": officer,
        "social_org_id": "org-harbour",
        **extra,
    }


async def listed(gw: Gateway, user: str = "admin1") -> set[str]:
    r = await gw.get(user, "/v1/schools", limit=500)
    assert r.status_code == 200, r.text
    return {s["id"] for s in r.json()}


async def test_a_registered_school_sends_its_reports_to_its_officer(gateway: Gateway) -> None:
    padded = {**school("sch-30"), "id": " sch-30 "}  # the id is trimmed
    r = await gateway.call("admin1", "POST", "/v1/schools", json=padded)
    assert r.status_code == 201, r.text
    assert r.json() == {**school("sch-30"), "is_liaison_station": False}
    assert "sch-30" in await listed(gateway)
    assert "sch-30" in await listed(gateway, "dispatcher1")
    # A teacher of the new school files; the police task is its community officer's.
    teacher = {"username": "teacher30", "password": "long-enough-secret", "role": "teacher",
               "display_name": "Teacher at school 30", "school_id": "sch-30"}  # fmt: skip
    assert (await gateway.call("admin1", "POST", "/v1/admin/users", json=teacher)).is_success
    await gateway.auth("teacher30", teacher["password"])  # later calls reuse its token
    filed = await gateway.file("teacher30", {**REPORT, "school_id": "sch-30"})
    assert filed.status_code == 201, filed.text
    tasks = await gateway.tasks_of(filed.json()["id"], 2, reader="teacher30")
    police = next(t for t in tasks if t["agency"] == "police")
    assert police["assignee_user_id"] == "officer2"
    social = next(t for t in tasks if t["agency"] == "social_work")
    assert social["assignee_org_id"] == "org-harbour"

    again = await gateway.call("admin1", "POST", "/v1/schools", json=school("sch-30", "officer3"))
    assert again.status_code == 409, again.text
    audit = (await gateway.get("auditor1", "/v1/audit", actor="admin1", limit=1000)).json()
    assert any(e["object_type"] == "school" and e["object_id"] == "sch-30" for e in audit)


async def test_a_batch_is_registered_whole_or_not_at_all(gateway: Gateway) -> None:
    batch = [school("sch-41"), school("sch-42", "officer5"), school("sch-43")]
    # An id the registry holds already (a demo school): 409, and the two before it not kept.
    taken = await gateway.call(
        "admin1", "POST", "/v1/schools:batch", json=[*batch, school("sch-01")]
    )
    assert taken.status_code == 409, taken.text
    assert "sch-01" in taken.json()["detail"]
    assert not {"sch-41", "sch-42", "sch-43"} & await listed(gateway)

    made = await gateway.call("admin1", "POST", "/v1/schools:batch", json=batch)
    assert made.status_code == 201, made.text
    assert [s["id"] for s in made.json()] == ["sch-41", "sch-42", "sch-43"]
    assert {"sch-41", "sch-42", "sch-43"} <= await listed(gateway)


async def test_refused_fields_are_named_by_index_and_nothing_is_stored(gateway: Gateway) -> None:
    bad = [
        school("sch-51"),
        school("sch-52", "social1"),  # not a police officer
        school("sch-51"),  # twice in the batch
        school("sch/53"),  # not an id
        {**school("sch-54"), "name": "  "},
    ]
    r = await gateway.call("admin1", "POST", "/v1/schools:batch", json=bad)
    assert r.status_code == 422, r.text
    where = [e["loc"] for e in r.json()["detail"]]
    assert ["body", 3, "id"] in where
    assert ["body", 4, "name"] in where
    # The schema passed, the directory's checks named what it refuses.
    r = await gateway.call("admin1", "POST", "/v1/schools:batch", json=bad[:3])
    assert r.status_code == 422, r.text
    assert [e["loc"] for e in r.json()["detail"]] == [
        ["body", 1, "community_officer_id"],
        ["body", 2, "id"],
    ]
    one = await gateway.call("admin1", "POST", "/v1/schools", json=school("sch-55", "nobody"))
    assert one.status_code == 422
    assert one.json()["detail"][0]["loc"] == ["body", "community_officer_id"]
    empty = await gateway.call("admin1", "POST", "/v1/schools:batch", json=[])
    assert empty.status_code == 422
    assert not {"sch-51", "sch-52", "sch-54", "sch-55"} & await listed(gateway)


async def test_only_an_administrator_registers_even_calling_the_service_directly(
    gateway: Gateway,
) -> None:
    r = await gateway.call("supervisor1", "POST", "/v1/schools", json=school("sch-60"))
    assert r.status_code == 403, r.text
    desk = Principal(user_id="dispatcher1", role=Role.dispatcher)
    token = gateway.internal_token(desk, service="school_liaison")
    app = gateway.apps["school_liaison"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://school_liaison"
    ) as direct:
        r = await direct.post("/schools", json=[school("sch-60")], headers={INTERNAL_HEADER: token})
    assert r.status_code == 403, r.text
    assert "sch-60" not in await listed(gateway)
