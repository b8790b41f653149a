"""The audit trail: every read of a child's record leaves an entry (checked from the route
table), logins and permission changes are recorded, pages come from the store, and every kind
of tampering is named by verify against the signed checkpoints in the AUDIT stream."""

from __future__ import annotations

import asyncio
import hashlib
import json
from pathlib import Path
from typing import Any

import httpx
import nats.js.errors
import pytest

from deploy.launcher import Platform
from gateway.access import AUDIT_KEY, ROLES_KEY
from gateway.app import create_app
from gateway.audit import ENTRIES_C, AuditLog, Event, entry_id
from gateway.audit_check import verify
from shared.bus import Bus
from shared.contracts.audit import AuditCheckpointed
from shared.contracts.school import ChildErased
from shared.events import Envelope, utcnow
from shared.identity import Role
from shared.store import DuplicateKeyError
from tests.bench.audit import run as run_benchmark
from tests.integration.test_authorization_matrix import CELLS, build_world
from tests.support import USER_OF, Gateway, eventually


def _names_child(schema: dict[str, Any], components: dict[str, Any]) -> bool:
    """Does a response schema describe a child's record or case (child_ref or case_id)?"""
    if "$ref" in schema:
        schema = components[schema["$ref"].rsplit("/", 1)[1]]
    if schema.get("type") == "array":
        return _names_child(schema["items"], components)
    if "anyOf" in schema or "oneOf" in schema:  # an answer shaped per role
        return any(
            _names_child(s, components) for s in schema.get("anyOf") or schema.get("oneOf") or []
        )
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
            ok: dict[str, Any] = next(
                (v for k, v in op.get("responses", {}).items() if k.startswith("2")), {}
            )
            schema = ok.get("content", {}).get("application/json", {}).get("schema", {})
            if schema and _names_child(schema, components):
                found[(method.upper(), path)] = op
    return found


def audit_of(gateway: Gateway) -> AuditLog:
    log: AuditLog = gateway.apps["gateway"].state.audit
    return log


async def entries_by(log: AuditLog, actor: str) -> list[Any]:
    return (await log.page(actor=actor, limit=1000))[0]


async def test_every_route_that_shows_a_child_is_audited(gateway: Gateway) -> None:
    routes = child_record_routes(gateway)
    assert ("GET", "/v1/reports/{report_id}") in routes  # the check itself sees them
    assert ("GET", "/v1/notifications") in routes
    assert ("GET", "/v1/welfare-checks") in routes
    unaudited = [key for key, op in routes.items() if AUDIT_KEY not in op]
    assert unaudited == []

    world = await build_world(gateway)
    log = audit_of(gateway)
    for key, op in routes.items():
        # The duty desk where it may call: its inbox names cases, a teacher's may be empty.
        allowed = [r for r in Role if r.value in op[ROLES_KEY]]
        role = Role.dispatcher if Role.dispatcher in allowed else allowed[0]
        user = USER_OF[role]
        await gateway.auth(user)  # log in first: the login has its own entry
        before = {e.id for e in await entries_by(log, user)}
        method, path, kwargs = CELLS[key].build(world, role, True)
        response = await gateway.call(user, method, path, **kwargs)
        assert response.status_code < 400, (key, response.text)
        new = [e for e in await entries_by(log, user) if e.id not in before]
        assert new, f"{key} left no audit entry"
        assert all(e.outcome == "allowed" for e in new), (key, new)
        named = _named(response.json())
        recorded = {
            e.child_ref or e.object_id for e in new if e.child_ref or e.object_type == "case"
        }
        assert recorded == named, (key, named, new)
        assert named or len(new) == 1, (key, named, new)
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
    refused = (await gateway.get("auditor1", "/v1/audit", outcome="not_found")).json()
    assert refused
    assert {e["outcome"] for e in refused} == {"not_found"}
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
    assert ("officer1", "denied") in logins
    assert ("officer1", "allowed") in logins
    changes = [e for e in entries if e["action"] == "permission_change"]
    assert any(e["object_id"] == "teacher2" and e["actor"] == "admin1" for e in changes)
    assert (await gateway.get("auditor1", "/v1/audit/verify")).json()["ok"] is True


async def test_pages_follow_the_link_header_and_filters_apply_in_the_store(
    gateway: Gateway,
) -> None:
    log = audit_of(gateway)
    start = utcnow()
    await log.append(
        *(Event(actor=f"pager{n % 2}", action="read", object_type="x") for n in range(7))
    )
    seen: list[dict[str, Any]] = []
    params: dict[str, Any] | None = {"actor": "pager1", "limit": 2, "since": start.isoformat()}
    url = "/v1/audit"
    headers = await gateway.auth("auditor1")
    while url:
        r = await gateway.client.get(url, params=params, headers=headers)
        assert r.status_code == 200, r.text
        assert isinstance(r.json(), list)
        seen += r.json()
        url = r.links.get("next", {}).get("url", "")
        params = None  # the next link carries every parameter
    assert [e["seq"] for e in seen] == sorted((e["seq"] for e in seen), reverse=True)
    assert len(seen) == 3
    assert {e["actor"] for e in seen} == {"pager1"}
    last = await gateway.get("auditor1", "/v1/audit", actor="pager1", limit=3)
    assert "link" not in last.headers  # the last page announces no next one
    until = (await gateway.get("auditor1", "/v1/audit", until=start.isoformat())).json()
    assert all(e["actor"] not in ("pager0", "pager1") for e in until)
    spec = gateway.apps["gateway"].openapi()["paths"]["/v1/audit"]["get"]
    assert "Link" in spec["responses"]["200"]["headers"]


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("since", "2026-01-01T10:00:00"),  # no zone
        ("until", "2026-01-01"),
        ("after", "not-a-cursor"),
        ("outcome", "maybe"),
        ("limit", "0"),
    ],
)
async def test_bad_audit_query_is_a_422_naming_the_parameter(
    gateway: Gateway, param: str, value: str
) -> None:
    r = await gateway.get("auditor1", "/v1/audit", **{param: value})
    assert r.status_code == 422, r.text
    assert any(d["loc"][-1] == param for d in r.json()["detail"])


async def test_an_entry_of_the_old_unkeyed_format_is_listed_not_a_500(gateway: Gateway) -> None:
    old = {"id": "0f" * 16, "seq": 1, "at": utcnow().isoformat(), "actor": "legacy"}
    old |= {"action": "read", "object_type": "report", "hash": "0" * 64, "prev_hash": "0" * 64}
    old |= dict.fromkeys(("role", "agency", "object_id", "child_ref", "purpose", "status"))
    old |= {"outcome": "allowed", "trace_id": None}
    await audit_of(gateway).store.insert(ENTRIES_C, old)
    r = await gateway.get("auditor1", "/v1/audit", actor="legacy")
    assert r.status_code == 200
    assert [e["chain"] for e in r.json()] == [""]


async def test_times_at_the_edge_of_the_calendar_bound_nothing(gateway: Gateway) -> None:
    # Neither has a UTC equivalent (year 0 and year 10000): no overflow, no 500.
    edges = {"since": "0001-01-01T00:00:00+05:00", "until": "9999-12-31T23:59:59-05:00"}
    r = await gateway.get("auditor1", "/v1/audit", **edges)
    assert r.status_code == 200, r.text
    assert r.json()  # everything lies between


# --- tampering, named by verify ------------------------------------------------------------


async def _verify(gateway: Gateway, *, full: bool = False) -> dict[str, Any]:
    r = await gateway.get("auditor1", "/v1/audit/verify", full=str(full).lower())
    assert r.status_code == 200, r.text
    body: dict[str, Any] = r.json()
    return body


def _problems(result: dict[str, Any]) -> dict[str, tuple[int, str]]:
    return {
        c["chain"]: (c["problem"]["seq"], c["problem"]["kind"])
        for c in result["chains"]
        if c["problem"]
    }


async def _trail(gateway: Gateway, n: int) -> AuditLog:
    """n entries in the gateway's chain, then a checkpoint of them in the AUDIT stream."""
    log = audit_of(gateway)
    for i in range(n):
        await log.append(Event(actor=f"user{i}", action="read", object_type="report"))
    assert await gateway.apps["gateway"].state.audit_checkpoints.publish_now() is not None
    return log


async def _entry(log: AuditLog, seq: int) -> dict[str, Any]:
    doc = await log.store.get(ENTRIES_C, entry_id(log.chain, seq))
    assert doc is not None
    return doc


async def test_an_intact_trail_verifies_incrementally_and_in_full(gateway: Gateway) -> None:
    log = await _trail(gateway, 6)
    for full in (False, True):
        result = await _verify(gateway, full=full)
        assert result["ok"] is True, result
        [mine] = [c for c in result["chains"] if c["chain"] == log.chain]
        assert mine["checkpoint_seq"] >= 6
        assert mine["problem"] is None
    incremental = (await _verify(gateway))["chains"]
    assert sum(c["checked"] for c in incremental) < log.head[0]  # not every entry again


async def test_a_deleted_middle_entry_is_named_missing(gateway: Gateway) -> None:
    log = await _trail(gateway, 8)
    await log.store.delete(ENTRIES_C, entry_id(log.chain, 4))
    # Before the checkpoint: only the full check walks that far back.
    assert _problems(await _verify(gateway, full=True)) == {log.chain: (4, "missing")}
    assert (await _verify(gateway))["ok"] is True  # what incremental does not prove (docs/audit.md)
    event = Event(actor="late", action="read", object_type="report")
    for _ in range(3):
        await log.append(event)
    middle = log.head[0] - 1
    await log.store.delete(ENTRIES_C, entry_id(log.chain, middle))
    # Since the checkpoint: the incremental check names it too.
    assert _problems(await _verify(gateway)) == {log.chain: (middle, "missing")}


async def test_deleting_the_newest_entries_after_a_checkpoint_is_named_truncated(
    gateway: Gateway,
) -> None:
    log = await _trail(gateway, 8)
    head = log.head[0]
    for seq in (head, head - 1, head - 2):
        await log.store.delete(ENTRIES_C, entry_id(log.chain, seq))
    # Another instance, with no memory of this chain, has only the checkpoint to go by.
    other = await AuditLog.open(log.store, key=_key(gateway))
    js = gateway.apps["gateway"].state.bus.js
    for full in (False, True):
        result = (await verify(other, js=js, full=full)).model_dump()
        assert _problems(result) == {log.chain: (head - 2, "truncated")}


async def test_an_edited_entry_is_named_altered(gateway: Gateway) -> None:
    log = await _trail(gateway, 6)
    third = await _entry(log, 3)
    await log.store.put(ENTRIES_C, {**third, "actor": "someone-else"})
    # Before the checkpoint: the full check recomputes it.
    assert _problems(await _verify(gateway, full=True)) == {log.chain: (3, "altered")}
    await log.store.put(ENTRIES_C, third)  # restored: the chain holds again
    assert (await _verify(gateway, full=True))["ok"] is True

    await log.append(Event(actor="late", action="read", object_type="report"))
    late = await _entry(log, log.head[0])
    await log.store.put(ENTRIES_C, {**late, "outcome": "denied"})
    # Since the checkpoint: the incremental check recomputes it too.
    assert _problems(await _verify(gateway)) == {log.chain: (late["seq"], "altered")}


async def test_a_rewritten_chain_without_the_key_does_not_verify(gateway: Gateway) -> None:
    """The old plain SHA-256 chain could be recomputed after deleting a row; a MAC cannot."""
    log = await _trail(gateway, 6)
    docs = await log.store.find(ENTRIES_C, where={"chain": log.chain}, order_by="seq")
    await log.store.delete(ENTRIES_C, docs[2]["id"])
    prev = docs[1]["mac"]
    for seq, doc in enumerate(docs[3:], start=3):  # renumber and re-chain as the old code did
        await log.store.delete(ENTRIES_C, doc["id"])
        body = {**doc, "id": entry_id(log.chain, seq), "seq": seq, "prev_mac": prev}
        body.pop("mac")
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"))
        prev = hashlib.sha256((prev + canonical).encode()).hexdigest()
        await log.store.insert(ENTRIES_C, {**body, "mac": prev})
    other = await AuditLog.open(log.store, key=_key(gateway))  # no live head to compare with
    js = gateway.apps["gateway"].state.bus.js
    for full in (False, True):
        result = (await verify(other, js=js, full=full)).model_dump()
        assert _problems(result)[log.chain] in {(3, "altered"), (len(docs), "truncated")}


async def test_a_forged_checkpoint_is_named(gateway: Gateway) -> None:
    log = await _trail(gateway, 3)
    seq, mac = log.head
    forged = AuditCheckpointed(chain=log.chain, seq=seq, mac=mac, at=utcnow(), signature="0" * 64)
    bus = gateway.apps["gateway"].state.bus
    envelope = Envelope.wrap(forged, source="intruder", subject=log.chain, correlation_id="x")
    await bus.publish(envelope, subject=AuditCheckpointed.subject_for(log.chain))
    assert _problems(await _verify(gateway)) == {log.chain: (seq, "forged")}


async def test_the_audit_stream_refuses_delete_and_purge(gateway: Gateway, admin_bus: Bus) -> None:
    await _trail(gateway, 1)
    js = admin_bus.js  # not even NATS's admin identity may
    info = await js.stream_info("AUDIT")
    assert info.config.deny_delete
    assert info.config.deny_purge
    with pytest.raises(nats.js.errors.APIError):
        await js.purge_stream("AUDIT")
    with pytest.raises(nats.js.errors.APIError):
        await js.delete_msg("AUDIT", info.state.last_seq)
    assert (await js.stream_info("AUDIT")).state.messages == info.state.messages


async def test_verify_without_nats_is_a_503_not_a_500(
    gateway: Gateway, nats_server: Platform
) -> None:
    await gateway.auth("auditor1")
    nats_server.kill("nats")
    r = await gateway.get("auditor1", "/v1/audit/verify")
    assert r.status_code == 503
    assert r.headers["Retry-After"]


def _key(gateway: Gateway) -> str:
    return str(gateway.apps["gateway"].state.settings.audit_key.get_secret_value())


# --- concurrency ---------------------------------------------------------------------------


async def test_concurrent_appends_in_one_instance_form_one_unbroken_chain(
    gateway: Gateway,
) -> None:
    log = audit_of(gateway)
    before = log.head[0]
    await asyncio.gather(
        *(log.append(Event(actor=f"c{n}", action="read", object_type="x")) for n in range(200))
    )
    assert log.head[0] == before + 200
    docs = await log.store.find(ENTRIES_C, where={"chain": log.chain}, order_by="seq")
    assert [d["seq"] for d in docs] == list(range(1, log.head[0] + 1))
    assert (await _verify(gateway, full=True))["ok"] is True


# PostgreSQL too: production runs several gateway replicas on one database.
@pytest.mark.parametrize("store_backend", ["sqlite", "postgres"])
async def test_two_gateway_instances_append_at_once_on_one_store(gateway: Gateway) -> None:
    first = gateway.apps["gateway"]
    services = {n: a for n, a in gateway.apps.items() if n != "gateway"}
    transports: dict[str, httpx.AsyncBaseTransport] = {
        n: httpx.ASGITransport(app=a) for n, a in services.items()
    }
    second = create_app(first.state.settings, transports=transports)  # same store
    async with second.router.lifespan_context(second):
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://gw2")
        async with client:
            other = Gateway(client, {**services, "gateway": second})
            # Audited reads through both front doors, and direct appends, all at once. Logged
            # in before: Argon2 runs on the event loop, which both apps share in this test.
            await gateway.auth("auditor1")
            await other.auth("auditor1")
            reads = [g.get("auditor1", "/v1/audit", limit=1) for g in [gateway, other] * 20]
            event = Event(actor="writer", action="read", object_type="x")
            writes = [log.append(event) for log in [first.state.audit, second.state.audit] * 20]
            answers = await asyncio.gather(*reads, *writes)
            assert {r.status_code for r in answers[: len(reads)]} == {200}
            a, b = first.state.audit, second.state.audit
            assert a.chain != b.chain
            assert a.head[0] >= 40
            assert b.head[0] >= 40
            await first.state.audit_checkpoints.publish_now()
            await second.state.audit_checkpoints.publish_now()
            for full in (False, True):
                result = await _verify(gateway, full=full)
                assert result["ok"] is True, result
                assert {a.chain, b.chain} <= {c["chain"] for c in result["chains"]}
            # Tamper with the second instance's chain: the first instance names it.
            doc = await _entry(b, 5)
            await b.store.put(ENTRIES_C, {**doc, "actor": "nobody"})
            assert _problems(await _verify(gateway, full=True)) == {b.chain: (5, "altered")}
            await b.store.put(ENTRIES_C, doc)
            checkpointed = b.head[0]
            await b.store.delete(ENTRIES_C, entry_id(b.chain, checkpointed))
            assert _problems(await _verify(gateway)) == {b.chain: (checkpointed, "truncated")}


async def test_a_named_chain_resumes_after_a_restart_and_cannot_be_forked(
    gateway: Gateway,
) -> None:
    store, key = audit_of(gateway).store, _key(gateway)
    event = Event(actor="w", action="read", object_type="x")
    before = await AuditLog.open(store, key=key, chain="gw-a")
    await before.append(event, event)
    after = await AuditLog.open(store, key=key, chain="gw-a")  # the restarted instance
    assert after.head == before.head == (2, after.head[1])
    await after.append(event)
    with pytest.raises(DuplicateKeyError):  # the stale writer would fork seq 3: refused
        await before.append(event)
    result = (await verify(after, js=gateway.apps["gateway"].state.bus.js, full=True)).model_dump()
    [chain] = [c for c in result["chains"] if c["chain"] == "gw-a"]
    assert chain["problem"] is None
    assert chain["last_seq"] == 3


async def test_the_benchmark_runs_on_a_small_trail(declared: Platform, tmp_path: Path) -> None:
    results = await run_benchmark(entries=500, requests=2, workdir=tmp_path, platform=declared)
    assert results["verify ok"] is True
    assert all(v["p50_ms"] > 0 for v in results.values() if isinstance(v, dict))


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
    assert entry["actor"] == "system:retention"
    assert "2 report" in entry["purpose"]
    # The second delivery has been handled (acked) and added nothing.
    info = await gateway.apps["gateway"].state.bus.js.consumer_info("SCHOOL", "gateway-erasures")
    assert info.num_pending == 0
    assert info.num_ack_pending == 0
    assert len(await entries()) == 1


async def test_the_same_once_key_twice_in_one_batch_is_stored_once(gateway: Gateway) -> None:
    log = audit_of(gateway)
    event = Event(actor="system:retention", action="erase", object_type="child", child_ref="c9")
    await asyncio.gather(*(log.append(event, once_key="erased:same") for _ in range(5)))
    assert len((await log.page(child_ref="c9"))[0]) == 1
