"""`GET /v1/tasks/{id}/assignees`: whom the desk may reassign a task to, by the rule the
reassignment itself checks, paged, and each listed one accepted by `/reassign`."""

from __future__ import annotations

from typing import Any

from tests.integration.test_paging import walk
from tests.support import REPORT, Gateway


def officer(username: str, school_ids: list[str]) -> dict[str, Any]:
    return {
        "username": username,
        "password": "long-enough-secret",
        "display_name": username,
        "role": "police_officer",
        "school_ids": school_ids,
    }


async def test_the_desk_lists_eligible_assignees_paged_and_each_is_accepted(
    gateway: Gateway,
) -> None:
    report = (await gateway.file("teacher1", REPORT)).json()["id"]
    tasks = await gateway.tasks_of(report, 2)
    police = next(t for t in tasks if t["agency"] == "police")
    social = next(t for t in tasks if t["agency"] == "social_work")
    assert police["school_id"] == "sch-01"

    pages = await walk(gateway, "dispatcher1", f"/v1/tasks/{social['id']}/assignees", limit=1)
    assert pages == [[{"assignee_user_id": None, "assignee_org_id": o}] for o in
                     ("org-harbour", "org-sunflower")]  # fmt: skip
    assert social["assignee_org_id"] == "org-rainbow"  # the current one is not offered

    path = f"/v1/tasks/{police['id']}/assignees"
    assert (await gateway.get("dispatcher1", path)).json() == []  # officer1 alone has sch-01
    for name, beat in (("officer-extra", ["sch-02", "sch-01"]), ("officer-far", ["sch-10"])):
        r = await gateway.call("admin1", "POST", "/v1/admin/users", json=officer(name, beat))
        assert r.status_code == 201, r.text
    r = await gateway.call("admin1", "PATCH", "/v1/admin/users/officer-far", json={"active": False})
    assert r.status_code == 200, r.text
    listed = (await gateway.get("supervisor1", path)).json()
    assert listed == [{"assignee_user_id": "officer-extra", "assignee_org_id": None}]

    for task, choice in ((police, listed[0]), (social, pages[1][0])):
        body = {k: v for k, v in choice.items() if v is not None}
        r = await gateway.call("dispatcher1", "POST", f"/v1/tasks/{task['id']}/reassign", json=body)
        assert r.status_code == 200, r.text
    after = (await gateway.get("dispatcher1", f"/v1/tasks/{social['id']}/assignees")).json()
    assert [a["assignee_org_id"] for a in after] == ["org-harbour", "org-rainbow"]


async def test_assignees_refusals(gateway: Gateway) -> None:
    report = (await gateway.file("teacher1", REPORT)).json()["id"]
    task = (await gateway.tasks_of(report, 2))[0]
    path = f"/v1/tasks/{task['id']}/assignees"
    for user in ("teacher1", "officer1", "social1", "auditor1"):
        assert (await gateway.get(user, path)).status_code == 403, user
    assert (await gateway.get("dispatcher1", "/v1/tasks/task-nobodys/assignees")).status_code == 404
    r = await gateway.get("dispatcher1", path, after="not-a-cursor")
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"][-1] == "after"
    reason = {"reason": "duplicate of another report"}
    cancelled = await gateway.call(
        "dispatcher1", "POST", f"/v1/tasks/{task['id']}/cancel", json=reason
    )
    assert cancelled.status_code == 200, cancelled.text
    r = await gateway.get("dispatcher1", path)
    assert r.status_code == 409
    assert "cancelled" in r.text
