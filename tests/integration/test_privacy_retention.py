"""The child's details: sealed under a key per child, shaped per role, erased after retention.

Through the gateway where it has the route; closing a case goes to case_tracking directly with
an internal token (the gateway's `POST /v1/cases/{id}/close` is added separately).
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from services.school_liaison import store as school_store
from services.school_liaison import vault
from services.school_liaison.app import create_app
from services.school_liaison.models import ChildKey, PendingErasure
from services.school_liaison.privacy import Sealer, new_data_key, seal
from services.school_liaison.retention import sweep_retention
from services.school_liaison.settings import Settings
from shared.bus import Bus
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.web import INTERNAL_HEADER
from tests.support import Gateway, NatsLogin, StoreUrl, eventually, every_store
from tests.unit.school_liaison.factories import a_report

__all__ = ["every_store"]  # every test here runs on SQLite and on PostgreSQL

STUDENT = {
    "name": "Wang Xiaohong",
    "id_number": "140502201105057786",
    "date_of_birth": "2011-05-05",
    "grade": "Grade 7",
    "address": "12 Liuxiang Lane, Yingze District",
    "guardian_name": "Wang Jianguo",
    "guardian_phone": "13900001111",
}
REPORT = {
    "school_id": "sch-01",
    "category": "self_harm",
    "description": "Cuts on her forearm, says nobody would miss her",
    "student": STUDENT,
}
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
DISPATCHER = Principal(user_id="dispatcher1", role=Role.dispatcher)
OTHER_OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=("sch-04",))
PUBLIC = {
    "id",
    "school_id",
    "category",
    "severity",
    "immediate_danger",
    "child_ref",
    "case_id",
    "filed_by",
    "filed_at",
}


async def _file_and_link(gateway: Gateway, key: str | None = None) -> dict[str, Any]:
    """File REPORT as teacher1 and wait until it is linked to its case; return the report."""
    r = await gateway.file("teacher1", REPORT, key=key)
    assert r.status_code == 201, r.text
    tasks = await gateway.tasks_of(r.json()["id"], 2)
    report = (await gateway.get("teacher1", f"/v1/reports/{r.json()['id']}")).json()
    assert {t["child_ref"] for t in tasks} == {report["child_ref"]}  # tasks name their child
    return dict(report)


async def _close(gateway: Gateway, case_id: str, who: Principal, reason: Any) -> httpx.Response:
    app = gateway.apps["case_tracking"]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://case_tracking"
    ) as client:
        return await client.post(
            f"/cases/{case_id}/close",
            json={"reason": reason},
            headers={INTERNAL_HEADER: gateway.internal_token(who, service="case_tracking")},
        )


async def _view(gateway: Gateway, user: str, report_id: str) -> dict[str, Any]:
    r = await gateway.get(user, f"/v1/reports/{report_id}")
    assert r.status_code == 200, (user, r.text)
    return dict(r.json())


async def _pending(gateway: Gateway, child_ref: str) -> dict[str, Any] | None:
    doc: dict[str, Any] | None = await gateway.store("school_liaison").get(
        "pending_erasures", child_ref
    )
    return doc


def _past_retention(gateway: Gateway) -> datetime:
    days = gateway.apps["school_liaison"].state.runtime.settings.retention_days
    return utcnow() + timedelta(days=days + 1)


async def _stored_bytes(gateway: Gateway, tmp_path: Path, store_backend: str) -> bytes:
    """Everything school_liaison's store holds: the SQLite files, or every row's text."""
    if store_backend == "sqlite":
        files = [tmp_path / "school_liaison.db", tmp_path / "school_liaison.db-wal"]
        return b"".join(f.read_bytes() for f in files if f.exists())
    import asyncpg

    url = gateway.apps["school_liaison"].state.runtime.settings.store_url
    conn = await asyncpg.connect(url)
    try:
        tables = await conn.fetch("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        rows = [
            await conn.fetch(f"SELECT id, doc::text FROM {t['tablename']}")  # noqa: S608 - catalogue names
            for t in tables
        ]
    finally:
        await conn.close()
    return "".join(f"{r[0]} {r[1]}" for table in rows for r in table).encode()


async def test_the_childs_details_are_in_no_byte_of_the_school_liaison_files(
    gateway: Gateway, tmp_path: Path, store_backend: str
) -> None:
    await _file_and_link(gateway)
    data = await _stored_bytes(gateway, tmp_path, store_backend)
    assert b"sealed" in data  # the report is there, and read back as text
    secrets = [*STUDENT.values(), REPORT["description"], "Xiaohong"]
    for secret in secrets:
        assert str(secret).encode() not in data, secret


async def test_each_role_sees_what_it_needs_and_nothing_more(gateway: Gateway) -> None:
    report = await _file_and_link(gateway)
    rid = report["id"]
    for user in ("teacher1", "safety1", "officer1"):
        view = await _view(gateway, user, rid)
        assert view["description"] == REPORT["description"], user
        assert view["student"] == STUDENT, user  # police: id number and address included
    social = await _view(gateway, "social1", rid)
    assert social["description"] == REPORT["description"]
    assert social["student"] == {k: v for k, v in STUDENT.items() if k != "id_number"}
    for user in ("dispatcher1", "supervisor1"):
        desk = await _view(gateway, user, rid)
        assert set(desk) == PUBLIC, user
        assert STUDENT["name"] not in json.dumps(desk)
    for user in ("teacher2", "social2", "officer2"):
        assert (await gateway.get(user, f"/v1/reports/{rid}")).status_code == 404, user

    # Every shape is valid under the gateway's published schema (absent, not required).
    openapi = (await gateway.client.get("/openapi.json")).json()
    schema = {"$ref": "#/components/schemas/ReportView", "components": openapi["components"]}
    for user in ("teacher1", "social1", "dispatcher1"):
        jsonschema.validate(await _view(gateway, user, rid), schema)


async def test_closing_a_case_is_the_supervisors_once(gateway: Gateway) -> None:
    case_id = (await _file_and_link(gateway))["case_id"]
    assert (await _close(gateway, case_id, DISPATCHER, "done")).status_code == 403
    assert (await _close(gateway, case_id, OTHER_OFFICER, "done")).status_code == 404
    assert (await _close(gateway, "case-nope", SUPERVISOR, "done")).status_code == 404
    for bad in ("", "   ", "x" * 501, None):
        assert (await _close(gateway, case_id, SUPERVISOR, bad)).status_code == 422, bad
    closed = await _close(gateway, case_id, SUPERVISOR, "Counselling completed")
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed"
    assert closed.json()["closed_at"]
    assert closed.json()["chronology"][-1]["kind"] == "case_closed"
    assert (await _close(gateway, case_id, SUPERVISOR, "again")).status_code == 409
    case = (await gateway.get("officer1", f"/v1/cases/{case_id}")).json()
    assert case["status"] == "closed"


async def test_a_closed_case_past_retention_is_erased_and_the_child_starts_afresh(
    gateway: Gateway, admin_bus: Bus
) -> None:
    report = await _file_and_link(gateway, key="first-report")
    child, rid, case_id = report["child_ref"], report["id"], report["case_id"]
    store = gateway.store("school_liaison")
    assert await store.get("child_keys", child) is not None
    assert (await _close(gateway, case_id, SUPERVISOR, "Family supported")).status_code == 200
    pending = await eventually(lambda: _pending(gateway, child))
    assert pending["closed_case_ids"] == [case_id]
    assert pending["closed_at"]

    runtime = gateway.apps["school_liaison"].state.runtime
    assert await sweep_retention(runtime, now=utcnow()) == []  # not due yet
    assert await sweep_retention(runtime, now=_past_retention(gateway)) == [child]
    assert await sweep_retention(runtime, now=_past_retention(gateway)) == []  # nothing left to do

    for user in ("teacher1", "officer1", "social1", "dispatcher1"):
        view = await _view(gateway, user, rid)
        assert set(view) == PUBLIC | {"erased_at"}, user
    stored = await store.get("reports", rid)
    assert stored["sealed"] is None
    assert stored["category"] == "self_harm"
    assert await store.get("child_keys", child) is None
    assert await store.get("pending_erasures", child) is None
    assert await store.get("idempotency_keys", "teacher1:first-report") is None

    js = admin_bus.js

    async def erased_event() -> dict[str, Any] | None:
        try:
            msg = await js.get_last_msg("SCHOOL", "school.child.erased.v1")
        except Exception:
            return None
        return dict(json.loads(msg.data or b"{}"))

    event = await eventually(erased_event)
    assert event["data"]["child_ref"] == child
    assert event["data"]["reports_erased"] == 1

    again = await _file_and_link(gateway)
    assert again["child_ref"] == child
    assert again["case_id"] != case_id  # a new case, not the closed one
    assert again["student"] == STUDENT  # sealed under a fresh key
    assert (await _view(gateway, "teacher1", rid)).get("student") is None


async def test_a_new_report_after_closure_cancels_the_erasure(gateway: Gateway) -> None:
    report = await _file_and_link(gateway)
    child = report["child_ref"]
    assert (await _close(gateway, report["case_id"], SUPERVISOR, "Resolved")).status_code == 200
    await eventually(lambda: _pending(gateway, child))
    newer = await _file_and_link(gateway)
    pending = await _pending(gateway, child)
    assert pending is not None
    assert pending["closed_at"] is None

    runtime = gateway.apps["school_liaison"].state.runtime
    assert await sweep_retention(runtime, now=_past_retention(gateway)) == []
    for rid in (report["id"], newer["id"]):
        assert (await _view(gateway, "teacher1", rid))["student"] == STUDENT


@pytest.mark.usefixtures("declared")
async def test_the_background_sweep_erases_due_children_and_stops_with_the_app(
    nats_url: str, store_url: StoreUrl, nats_login: NatsLogin
) -> None:
    settings = Settings(
        **nats_login("school_liaison"),
        demo_mode=True,
        nats_url=nats_url,
        store_url=await store_url("sweep"),
        retention_days=1,
        retention_sweep_s=0.05,
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        sweep = app.state.background["retention-sweep"]
        assert not sweep.done()
        store = app.state.runtime.store
        sealer: Sealer = app.state.sealer
        key, child, closed_at = new_data_key(), "child-due", utcnow() - timedelta(days=2)
        sealed = seal({"x": 1}, data_key=key, record_id="rep-due")
        report = a_report(
            id="rep-due",
            child_ref=child,
            filed_at=closed_at - timedelta(days=1),
            case_id="case-due",
            sealed=sealed,
            seal_v=vault.SEAL_VERSION,
        )
        child_key = ChildKey(
            child_ref=child, wrapped=sealer.wrap(key, child_ref=child), created_at=report.filed_at
        )
        pending = PendingErasure(child_ref=child, closed_at=closed_at, closed_case_ids=["case-due"])
        async with store.transaction() as tx:
            await school_store.insert_child_key(tx, key=child_key)
            await school_store.insert_report(tx, report=report)
            await school_store.put_pending_erasure(tx, pending=pending)

        async def erased() -> bool:
            return await store.get("child_keys", child) is None

        await eventually(erased)
        assert (await store.get("reports", "rep-due"))["sealed"] is None
    assert sweep.cancelled()
