"""The gateway's smaller holes, closed: password work off the event loop, throttling that
slows guessers without locking owners out, client input that used to give 500, the purpose
header, and 422s that echoed what they refused."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx

from gateway.access import PURPOSE_HEADER, ROLES_KEY
from gateway.clients import Services
from gateway.limits import LoginThrottle, RateLimiter
from shared.identity import Principal, Role
from tests.support import REPORT, USER_OF, Gateway

ClientAt = Callable[[str], AbstractAsyncContextManager[httpx.AsyncClient]]


def client_at(gateway: Gateway) -> ClientAt:
    """A client of the same in-process gateway, calling from the given address."""

    @asynccontextmanager
    async def make(address: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=gateway.apps["gateway"], client=(address, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://gateway") as client:
            yield client

    return make


async def login(client: httpx.AsyncClient, user: str, password: str) -> httpx.Response:
    return await client.post("/v1/auth/token", data={"username": user, "password": password})


# --- password hashing off the loop -------------------------------------------------------------


async def test_the_event_loop_keeps_turning_while_passwords_are_checked(gateway: Gateway) -> None:
    """Argon2 on the event loop made /healthz (and everything else) wait for every login."""
    longest_stall = 0.0
    running = True

    async def heartbeat() -> None:
        nonlocal longest_stall
        loop = asyncio.get_running_loop()
        last = loop.time()
        while running:
            await asyncio.sleep(0.01)  # a heartbeat's period, not a wait for a condition
            longest_stall = max(longest_stall, loop.time() - last)
            last = loop.time()

    beat = asyncio.create_task(heartbeat())
    start = asyncio.get_running_loop().time()
    logins = [asyncio.create_task(login(gateway.client, f"nobody{n}", "wrong")) for n in range(8)]
    await asyncio.wait(logins, return_when=asyncio.FIRST_COMPLETED)  # checks are under way
    health = await gateway.client.get("/healthz")
    in_flight = sum(not task.done() for task in logins)
    assert {r.status_code for r in await asyncio.gather(*logins)} == {401}
    took = asyncio.get_running_loop().time() - start
    running = False
    await beat
    assert health.status_code == 200
    assert in_flight > 0
    # Relative, not absolute, so a slow machine does not matter: on the loop, the checks
    # stalled it for nearly the whole batch; off it, stalls are a small part of it.
    assert longest_stall < took / 2, f"loop stalled {longest_stall:.2f}s of {took:.2f}s"


# --- throttling --------------------------------------------------------------------------------


async def test_each_caller_has_a_request_budget_of_their_own(gateway: Gateway) -> None:
    # A budget of three that (nearly) does not refill, so the host's speed does not matter;
    # the suite's gateway has none that a test could reach (tests/integration/conftest.py).
    gateway.apps["gateway"].state.rate_limiter = RateLimiter(rate=0.001, burst=3)
    codes = [(await gateway.get("officer1", "/v1/me")).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    refused = await gateway.get("officer1", "/v1/me")
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert (await gateway.get("social1", "/v1/me")).status_code == 200


async def test_an_attacker_elsewhere_does_not_lock_the_owner_out(gateway: Gateway) -> None:
    async with client_at(gateway)("10.6.6.6") as attacker, client_at(gateway)("10.0.0.7") as owner:
        codes = [(await login(attacker, "officer3", "guess")).status_code for _ in range(5)]
        assert codes == [401, 401, 401, 429, 429]
        refused = await login(attacker, "officer3", "demo")  # even the right one must wait
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) >= 1
        assert (await login(owner, "officer3", "demo")).status_code == 200


async def test_concurrent_guesses_do_not_slip_past_the_throttle(gateway: Gateway) -> None:
    async with client_at(gateway)("10.6.6.6") as attacker:
        burst = [login(attacker, "officer4", f"guess{n}") for n in range(8)]
        codes = sorted(r.status_code for r in await asyncio.gather(*burst))
    assert codes == [401] * 3 + [429] * 5


async def test_password_spraying_from_one_address_is_stopped(gateway: Gateway) -> None:
    # The gateway's throttle with a small budget, so the test needs few slow password checks.
    gateway.apps["gateway"].state.login_throttle = LoginThrottle(source_max_failures=5)
    async with client_at(gateway)("10.6.6.6") as sprayer, client_at(gateway)("10.0.0.7") as other:
        for n in range(5):
            assert (await login(sprayer, f"user{n}", "Spring2026!")).status_code == 401
        stopped = await login(sprayer, "teacher1", "demo")
        assert stopped.status_code == 429
        assert int(stopped.headers["Retry-After"]) >= 1
        assert (await login(other, "teacher1", "demo")).status_code == 200


# --- input that used to be a 500 ---------------------------------------------------------------

# Valid JSON text that Python parses, but that cannot be stored or sent on.
UNSENDABLE = ['"\\ud800"', '"a\\udfffb"', "NaN", "Infinity", "-Infinity", "1e999"]


def json_operations(gateway: Gateway) -> list[tuple[str, str, str, Role, bool]]:
    """Every route with a JSON body: method, path (parameters filled), a body field, a role,
    and whether the body is an array of such objects (a batch)."""
    doc = gateway.apps["gateway"].openapi()
    schemas = doc["components"]["schemas"]
    found = []
    for path, item in doc["paths"].items():
        for method, op in item.items():
            body = op.get("requestBody", {}).get("content", {}).get("application/json")
            if body is None:
                continue
            schema = body["schema"]
            batch = schema.get("type") == "array"
            schema = schema["items"] if batch else schema
            if "$ref" in schema:
                schema = schemas[schema["$ref"].rsplit("/", 1)[1]]
            field = next(iter(schema["properties"]))
            role = Role(op[ROLES_KEY][0])
            filled = path.replace("{", "").replace("}", "")  # "/cases/{case_id}" → a dummy id
            found.append((method.upper(), filled, field, role, batch))
    return found


async def test_unsendable_json_values_are_422_naming_the_field_on_every_route(
    gateway: Gateway,
) -> None:
    operations = json_operations(gateway)
    assert ("POST", "/v1/reports", "school_id", Role.teacher, False) in operations
    assert ("POST", "/v1/schools:batch", "id", Role.admin, True) in operations
    assert len(operations) >= 5
    for method, path, field, role, batch in operations:
        headers = {**await gateway.auth(USER_OF[role]), "Content-Type": "application/json"}
        for bad in UNSENDABLE:
            body = f'{{"{field}": {bad}}}'
            r = await gateway.client.request(
                method, path, content=(f"[{body}]" if batch else body).encode(), headers=headers
            )
            assert r.status_code == 422, (method, path, bad, r.status_code, r.text)
            where = ["body", 0, field] if batch else ["body", field]
            assert r.json()["detail"][0]["loc"] == where, (path, bad)


async def test_a_lone_surrogate_deep_in_a_report_names_its_field(gateway: Gateway) -> None:
    headers = {**await gateway.auth("teacher1"), "Content-Type": "application/json"}
    body = (
        '{"school_id": "sch-01", "category": "truancy", "description": "x", '
        '"student": {"name": "Li \\ud800 Ming"}}'
    )
    r = await gateway.client.post("/v1/reports", content=body.encode(), headers=headers)
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "student", "name"]


async def test_the_services_refuse_unsendable_json_too(gateway: Gateway) -> None:
    """Behind the gateway, each service parses its own bodies the same strict way."""
    app = gateway.apps["school_liaison"]
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://school") as service:
        r = await service.post(
            "/reports",
            content=b'{"description": NaN}',
            headers={"Content-Type": "application/json"},
        )
    assert r.status_code == 422
    assert r.json()["detail"][0]["loc"] == ["body", "description"]


async def test_audit_times_without_a_timezone_are_422_naming_the_parameter(
    gateway: Gateway,
) -> None:
    for name in ("since", "until"):
        r = await gateway.get("auditor1", "/v1/audit", **{name: "2026-01-01T00:00:00"})
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", name]
    ok = await gateway.get("auditor1", "/v1/audit", since="2026-01-01T00:00:00+08:00")
    assert ok.status_code == 200


# --- the purpose header ------------------------------------------------------------------------


async def test_the_purpose_is_bounded_and_kept_in_the_audit_trail(gateway: Gateway) -> None:
    headers = await gateway.auth("dispatcher1")
    for bad in ["x" * 30_000, "x" * 201, "case\x07conference", ""]:
        r = await gateway.client.get("/v1/tasks", headers={**headers, PURPOSE_HEADER: bad})
        assert r.status_code == 422, (len(bad), r.status_code)
        assert r.json()["detail"][0]["loc"] == ["header", PURPOSE_HEADER]

    purpose = "个案会商 " * 40  # 200 characters, not 200 bytes
    assert len(purpose) == 200
    wire: dict[str, Any] = {**headers, PURPOSE_HEADER: purpose.encode()}
    assert (await gateway.client.get("/v1/tasks", headers=wire)).status_code == 200
    entries = (await gateway.get("auditor1", "/v1/audit", actor="dispatcher1")).json()
    purposes = {e["purpose"] for e in entries}
    assert purpose.rstrip() in purposes  # the space after a header value is not part of it
    assert not any(p and len(p) > 200 for p in purposes)


# --- 422s do not echo ---------------------------------------------------------------------------


async def test_a_422_names_the_field_and_rule_but_never_the_value(gateway: Gateway) -> None:
    id_number = "14050220100101567X" * 2  # not an ID number: refused
    body: dict[str, Any] = {**REPORT, "student": {**REPORT["student"], "id_number": id_number}}
    r = await gateway.call("teacher1", "POST", "/v1/reports", json=body)
    assert r.status_code == 422
    [error] = r.json()["detail"]
    assert error["loc"] == ["body", "student", "id_number"]
    assert "pattern" in error["msg"]
    assert id_number not in r.text
    assert "Li Ming" not in r.text
    assert "input" not in error

    # The services answer the same way (the gateway passes their 422s on).
    services: Services = gateway.apps["gateway"].state.services
    teacher = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
    direct = await services.call("school_liaison", "POST", "/reports", principal=teacher, json=body)
    assert direct.status_code == 422
    assert id_number not in direct.text
