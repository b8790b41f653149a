"""Bad input gets a clear 4xx naming the field, and nothing is stored; outages give 503."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import httpx
import pytest

from gateway.app import create_app as gateway_app
from gateway.settings import Settings as GatewaySettings
from tests.support import REPORT, Gateway, NatsLogin


async def stored_reports(gateway: Gateway) -> int:
    return len(await gateway.store("school_liaison").find("reports"))


def field_of(response: httpx.Response) -> list[Any]:
    return [e["loc"][-1] for e in response.json()["detail"]]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"school_id": None}, "school_id"),
        ({"category": "arson"}, "category"),
        ({"severity": "apocalyptic"}, "severity"),
        ({"description": ""}, "description"),
        ({"student": {"name": ""}}, "name"),
        ({"student": {"name": "A", "date_of_birth": "not-a-date"}}, "date_of_birth"),
        ({"unexpected": 1}, "unexpected"),
    ],
)
async def test_a_malformed_report_is_422_naming_the_field(
    gateway: Gateway, change: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in {**REPORT, **change}.items() if v is not None}
    r = await gateway.file("teacher1", body)
    assert r.status_code == 422
    assert field in field_of(r)
    assert await stored_reports(gateway) == 0


async def test_an_unknown_school_is_422(gateway: Gateway) -> None:
    r = await gateway.file("teacher1", {**REPORT, "school_id": "sch-99"})
    assert r.status_code == 422
    assert field_of(r) == ["school_id"]
    assert await stored_reports(gateway) == 0


async def test_a_body_that_is_not_json_is_422(gateway: Gateway) -> None:
    headers = {**await gateway.auth("teacher1"), "Content-Type": "application/json"}
    r = await gateway.client.post("/v1/reports", content=b"{not json", headers=headers)
    assert r.status_code == 422


async def test_an_oversized_body_is_413(gateway: Gateway) -> None:
    body = {**REPORT, "description": "x" * 70_000}
    r = await gateway.file("teacher1", body)
    assert r.status_code == 413
    assert await stored_reports(gateway) == 0


async def test_no_token_or_a_bad_token_is_401(gateway: Gateway) -> None:
    assert (await gateway.client.post("/v1/reports", json=REPORT)).status_code == 401
    bad = {"Authorization": "Bearer not.a.jwt"}
    assert (await gateway.client.post("/v1/reports", json=REPORT, headers=bad)).status_code == 401
    r = await gateway.client.post("/v1/auth/token", data={"username": "teacher1", "password": "x"})
    assert r.status_code == 401
    assert (await gateway.client.get("/v1/schools")).status_code == 401


async def test_wrong_role_or_other_school_is_403(gateway: Gateway) -> None:
    assert (await gateway.file("officer1", REPORT)).status_code == 403
    assert (await gateway.file("teacher2", REPORT)).status_code == 403  # not her school
    assert await stored_reports(gateway) == 0


async def test_teacher2_cannot_read_teacher1s_report(gateway: Gateway) -> None:
    report = (await gateway.file("teacher1", REPORT)).json()
    assert (await gateway.get("teacher1", f"/v1/reports/{report['id']}")).status_code == 200
    assert (await gateway.get("teacher2", f"/v1/reports/{report['id']}")).status_code == 404
    tasks = await gateway.tasks_of(report["id"], 2)
    case_id = tasks[0]["case_id"]
    assert (await gateway.get("teacher2", f"/v1/cases/{case_id}")).status_code == 404
    assert (await gateway.get("social2", f"/v1/cases/{case_id}")).status_code == 404
    assert (await gateway.get("officer2", "/v1/tasks", case_id=case_id)).status_code == 404
    assert (await gateway.get("social1", f"/v1/cases/{case_id}")).status_code == 200


async def test_a_teacher_lists_only_her_school(gateway: Gateway) -> None:
    schools = (await gateway.get("teacher1", "/v1/schools")).json()
    assert [s["id"] for s in schools] == ["sch-01"]
    everything = (await gateway.get("dispatcher1", "/v1/schools")).json()
    assert len(everything) == 21
    assert sum(s["is_liaison_station"] for s in everything) == 1


async def test_only_the_assignee_acknowledges(gateway: Gateway) -> None:
    report = (await gateway.file("teacher1", REPORT)).json()
    tasks = await gateway.tasks_of(report["id"], 2)
    police = next(t for t in tasks if t["agency"] == "police")
    social = next(t for t in tasks if t["agency"] == "social_work")

    async def ack(user: str, task_id: str) -> int:
        headers = await gateway.auth(user)
        return (await gateway.client.post(f"/v1/tasks/{task_id}/ack", headers=headers)).status_code

    assert await ack("teacher1", police["id"]) == 403  # role may not acknowledge at all
    assert await ack("social1", police["id"]) == 403  # may see the case, not this task
    assert await ack("officer2", police["id"]) == 404  # not his beat: not even visible
    assert await ack("social1", social["id"]) == 200
    assert await ack("officer1", police["id"]) == 200
    assert await ack("officer1", police["id"]) == 200  # twice is harmless


@pytest.mark.usefixtures("declared")
async def test_a_service_that_is_down_gives_503_with_retry_after(
    tmp_path: Any, nats_url: str, nats_login: NatsLogin
) -> None:
    settings = GatewaySettings(
        **nats_login("gateway"),
        demo_mode=True,
        nats_url=nats_url,
        store_url=f"sqlite:///{tmp_path / 'gw.db'}",
        school_liaison_url="http://127.0.0.1:9",  # nothing listens on the discard port
    )
    app = gateway_app(settings)
    async with app.router.lifespan_context(app):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        gw = Gateway(client, {})
        r = await gw.file("teacher1", REPORT)
        assert r.status_code == 503
        assert r.headers["Retry-After"].isdigit()
        await client.aclose()


async def test_a_store_that_cannot_be_written_gives_503_with_retry_after_not_500(
    gateway: Gateway, tmp_path: Any
) -> None:
    """A service's store and the gateway's own: StoreUnavailableError is a 503 at the edge."""
    r = await gateway.file("teacher1", REPORT)
    tasks = await gateway.tasks_of(r.json()["id"], 2)
    police = next(t for t in tasks if t["agency"] == "police")
    admin = await gateway.auth("admin1")
    officer = await gateway.auth("officer1")
    # Another writer holds each file's write lock past the store's busy timeout.
    locks = [sqlite3.connect(tmp_path / f"{name}.db", isolation_level=None) for name in
             ("case_tracking", "gateway")]  # fmt: skip
    for lock in locks:
        lock.execute("BEGIN EXCLUSIVE")
    try:
        ack, patch = await asyncio.gather(
            gateway.client.post(f"/v1/tasks/{police['id']}/ack", headers=officer),
            gateway.client.patch(
                "/v1/admin/users/teacher2", json={"display_name": "T2"}, headers=admin
            ),
        )
    finally:
        for lock in locks:
            lock.close()
    for answer in (ack, patch):
        assert answer.status_code == 503, answer.text
        assert answer.headers["Retry-After"].isdigit()
