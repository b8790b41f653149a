"""The audit trail: every read of a child's record leaves an entry (checked from the route
table), logins and permission changes are recorded, and tampering breaks the chain."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from gateway.access import AUDIT_KEY, ROLES_KEY
from gateway.audit import ENTRIES_C, AuditLog, Event
from shared.contracts.school import ChildErased
from shared.events import Envelope, utcnow
from shared.identity import Role
from shared.store import open_store
from tests.integration.test_authorization_matrix import CELLS, build_world
from tests.support import USER_OF, Gateway, eventually


def _names_child(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Does a response schema describe a child's record or case (child_ref or case_id)?"""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        return _names_child(schema["items"], components)
    if "anyOf" in schema or "oneOf" in schema:  # an answer shaped per role
        return any(_names_child(s, components) for s in schema.get("anyOf", schema.get("oneOf")))
    return bool({"child_ref", "case_id"} & set(schema.get("properties", {})))


def _named(body: Any) -> set[str]:
    """The children (by child_ref, else by their case) an answer names."""
    items = body if isinstance(body, list) else [body]
    return {
        i.get("child_ref") or i["case_id"] for i in items if i.get("child_ref") or i.get("case_id")
    }


def child_record_routes(gateway: Gateway) -> dict[tuple[str, str], dict[str, Any]]:
    doc = gateway.apps["gateway"].openapi()
    components = doc["components"]["schemas"]
    found = {}
    for path, item in doc["paths"].items():
        for method, op in item.items():
            ok = next((v for k, v in op.get("responses", {}).items() if k.startswith("2")), {})
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            if schema and _names_child(schema, components):
                found[(method.upper(), path)] = op
    return found


async def test_every_route_that_shows_a_child_is_audited(gateway: Gateway) -> None:
    routes = child_record_routes(gateway)
    assert ("GET", "/v1/reports/{report_id}") in routes  # the check itself sees them
    assert ("GET", "/v1/notifications") in routes and ("GET", "/v1/welfare-checks") in routes
    unaudited = [key for key, op in routes.items() if AUDIT_KEY not in op]
    assert unaudited == []

    world = await build_world(gateway)
    log: AuditLog = gateway.apps["gateway"].state.audit
    for key, op in routes.items():
        # The duty desk where it may call: its inbox names cases, a teacher's may be empty.
        allowed = [r for r in Role if r.value in op[ROLES_KEY]]
        role = Role.dispatcher if Role.dispatcher in allowed else allowed[0]
        user = USER_OF[role]
        await gateway.auth(user)  # log in first: the login has its own entry
        before = {e.id for e in await log.query(actor=user, limit=1000)}
        method, path, kwargs = CELLS[key].build(world, role, True)
        response = await gateway.call(user, method, path, **kwargs)
        assert response.status_code < 400, (key, response.text)
        new = [e for e in await log.query(actor=user, limit=1000) if e.id not in before]
        assert new, f"{key} left no audit entry"
        assert all(e.outcome == "allowed" for e in new), (key, new)
        named = _named(response.json())
        recorded = {
            e.child_ref or e.object_id for e in new if e.child_ref or e.object_type == "case"
        }
        assert recorded == named and (named or len(new) == 1), (key, named, new)
        assert {e.action for e in new} == {op[AUDIT_KEY]["action"]}


async def test_a_refused_look_is_audited_too_and_the_auditor_can_filter(
    gateway: Gateway,
) -> None:
    world = await build_world(gateway)
    r = await gateway.get("teacher2", f"/v1/reports/{world.own_report}")
    assert r.status_code == 404
    entries = (await gateway.get("auditor1", "/v1/audit", actor="teacher2")).json()
    assert any(e["outcome"] == "not_found" and e["object_id"] == world.own_report for e in entries)
    read = (await gateway.get("teacher1", f"/v1/reports/{world.own_report}")).json()
    by_child = (await gateway.get("auditor1", "/v1/audit", child_ref=read["child_ref"])).json()
    assert {e["actor"] for e in by_child} >= {"teacher1"}
    assert all(e["child_ref"] == read["child_ref"] for e in by_child)
    assert (await gateway.get("teacher1", "/v1/audit")).status_code == 403


async def test_logins_and_permission_changes_are_audited(gateway: Gateway) -> None:
    bad = await gateway.client.post(
        "/v1/auth/token", data={"username": "officer1", "password": "x"}
    )
    assert bad.status_code == 401
    await gateway.auth("officer1")
    admin = await gateway.auth("admin1")
    patch = {"active": False}
    assert (
        await gateway.client.patch("/v1/admin/users/teacher2", json=patch, headers=admin)
    ).status_code == 200
    entries = (await gateway.get("auditor1", "/v1/audit", limit=1000)).json()
    logins = [(e["actor"], e["outcome"]) for e in entries if e["action"] == "login"]
    assert ("officer1", "denied") in logins and ("officer1", "allowed") in logins
    changes = [e for e in entries if e["action"] == "permission_change"]
    assert any(e["object_id"] == "teacher2" and e["actor"] == "admin1" for e in changes)
    assert (await gateway.get("auditor1", "/v1/audit/verify")).json()["ok"] is True


async def test_editing_or_dropping_a_stored_entry_is_detected(tmp_path: Path) -> None:
    store = await open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    log = AuditLog(store)
    await log.prepare()
    for n in range(5):
        await log.append(Event(actor=f"user{n}", action="read", object_type="report"))
    assert (await log.verify()).ok

    [third] = await store.find(ENTRIES_C, where={"seq": 3})
    await store.put(ENTRIES_C, {**third, "actor": "someone-else"})
    result = await log.verify()
    assert not result.ok and result.broken_at == 3

    await store.put(ENTRIES_C, third)  # restored: the chain holds again
    assert (await log.verify()).ok
    [last] = await store.find(ENTRIES_C, where={"seq": 5})
    await store.delete(ENTRIES_C, last["id"])
    assert not (await log.verify()).ok
    await store.close()


async def test_an_erasure_by_retention_is_audited_once(gateway: Gateway) -> None:
    runtime = gateway.apps["school_liaison"].state.runtime
    erased = ChildErased(child_ref="child-erased-1", reports_erased=2, erased_at=utcnow())
    event = Envelope.wrap(
        erased, source="school_liaison", subject="child-erased-1", correlation_id="c"
    )
    await runtime.bus.publish(event)
    await runtime.bus.js.publish(event.nats_subject, event.model_dump_json().encode())  # again

    async def entries() -> list[dict[str, Any]]:
        found = await gateway.get("auditor1", "/v1/audit", child_ref="child-erased-1")
        return [e for e in found.json() if e["action"] == "erase"]

    [entry] = await eventually(entries)
    assert entry["actor"] == "system:retention" and "2 report" in entry["purpose"]
    # The second delivery has been handled (acked) and added nothing.
    info = await gateway.apps["gateway"].state.bus.js.consumer_info("SCHOOL", "gateway-erasures")
    assert info.num_pending == 0 and info.num_ack_pending == 0
    assert len(await entries()) == 1
