"""Tokens die with every change of their account's standing (and stay dead when it is undone);
wide grants reach the auditors; the idempotency fingerprint is keyed."""

from __future__ import annotations

import hashlib
from typing import Any

from gateway.audit import AuditLog
from services.school_liaison import domain, store
from services.school_liaison.privacy import fingerprint_key
from shared.contracts.school import ReportCreate
from tests.integration.test_gateway_security import client_token
from tests.support import REPORT, Gateway, eventually

PASSWORD = "long-enough-secret"


async def token_of(gateway: Gateway, user: str, password: str = "demo") -> dict[str, str]:
    r = await gateway.client.post("/v1/auth/token", data={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def works(gateway: Gateway, headers: dict[str, str]) -> bool:
    status = (await gateway.client.get("/v1/me", headers=headers)).status_code
    assert status in (200, 401)
    return status == 200


async def patch_user(gateway: Gateway, user: str, body: dict[str, Any]) -> None:
    r = await gateway.call("admin1", "PATCH", f"/v1/admin/users/{user}", json=body)
    assert r.status_code == 200, r.text


async def test_a_token_stays_dead_after_deactivation_is_undone(gateway: Gateway) -> None:
    old = await token_of(gateway, "teacher2")
    await patch_user(gateway, "teacher2", {"active": False})
    await patch_user(gateway, "teacher2", {"active": True})
    assert not await works(gateway, old)
    assert await works(gateway, await token_of(gateway, "teacher2"))


async def test_a_token_stays_dead_after_a_role_change_is_reverted(gateway: Gateway) -> None:
    [before] = [
        u for u in (await gateway.get("admin1", "/v1/admin/users")).json() if u["id"] == "officer2"
    ]
    scope = {k: before[k] for k in ("role", "school_id", "org_id", "school_ids")}
    old = await token_of(gateway, "officer2")
    await patch_user(gateway, "officer2", {"scope": {**scope, "school_ids": ["sch-04"]}})
    await patch_user(gateway, "officer2", {"scope": scope})  # back to exactly what it was
    assert not await works(gateway, old)
    assert await works(gateway, await token_of(gateway, "officer2"))


async def test_a_password_change_ends_the_old_tokens(gateway: Gateway) -> None:
    old = await token_of(gateway, "safety1")
    await patch_user(gateway, "safety1", {"password": PASSWORD})
    assert not await works(gateway, old)
    assert await works(gateway, await token_of(gateway, "safety1", PASSWORD))


async def test_a_display_name_change_keeps_the_tokens(gateway: Gateway) -> None:
    token = await token_of(gateway, "teacher1")
    await patch_user(gateway, "teacher1", {"display_name": "Ms Wang"})
    assert await works(gateway, token)


async def test_a_rotated_client_secret_ends_the_old_secret_and_its_tokens(gateway: Gateway) -> None:
    client = {"client_id": "ngo-cms", "display_name": "x", "role": "social_worker", "org_id": "o"}
    created = await gateway.call("admin1", "POST", "/v1/admin/clients", json=client)
    old_secret = created.json()["client_secret"]
    old = await client_token(gateway, "ngo-cms", old_secret)
    assert await works(gateway, old)
    rotated = await gateway.call("admin1", "POST", "/v1/admin/clients/ngo-cms/secret")
    assert rotated.status_code == 200
    assert rotated.json()["client_secret"] != old_secret
    assert not await works(gateway, old)
    form = {"grant_type": "client_credentials", "client_id": "ngo-cms", "client_secret": old_secret}
    assert (await gateway.client.post("/v1/auth/token", data=form)).status_code == 401
    new = await client_token(gateway, "ngo-cms", rotated.json()["client_secret"])
    assert await works(gateway, new)


# --- privileged grants -------------------------------------------------------------------------


async def test_a_wide_grant_is_audited_as_privileged_and_reaches_the_auditors_desk(
    gateway: Gateway,
) -> None:
    desk = {"username": "desk9", "password": PASSWORD, "display_name": "x", "role": "dispatcher"}
    teacher = {**desk, "username": "teacher9", "role": "teacher", "school_id": "sch-01"}
    for body in (desk, teacher):
        assert (
            await gateway.call("admin1", "POST", "/v1/admin/users", json=body)
        ).status_code == 201
    beat = {"scope": {"role": "police_officer", "school_ids": ["sch-01", "sch-02"]}}
    await patch_user(gateway, "teacher9", beat)  # an officer over two schools
    bot = {"client_id": "station-bot", "display_name": "x", "role": "dispatcher"}
    assert (await gateway.call("admin1", "POST", "/v1/admin/clients", json=bot)).status_code == 201

    log: AuditLog = gateway.apps["gateway"].state.audit
    entries, _ = await log.page(actor="admin1", limit=1000)
    privileged = {e.object_id for e in entries if e.action == "privileged_grant"}
    # Creating a one-school teacher was not one.
    assert privileged == {"desk9", "teacher9", "station-bot"}

    async def on_the_desk() -> list[dict[str, Any]]:
        inbox = (await gateway.get("auditor1", "/v1/notifications")).json()
        return [n for n in inbox if n["kind"] == "privileged_grant"]

    notices = await eventually(lambda: _at_least(on_the_desk, 3))
    assert all(n["recipient"] == "role:auditor" for n in notices)
    titles = " ".join(n["title"] for n in notices)
    assert "desk9" in titles
    assert "dispatcher" in titles
    assert "sch-02" in titles
    assert "client:station-bot" in titles
    admin_inbox = (await gateway.get("admin1", "/v1/notifications")).json()
    assert not [n for n in admin_inbox if n["kind"] == "privileged_grant"]


async def _at_least(probe: Any, count: int) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = await probe()
    return found if len(found) >= count else []


# --- the idempotency fingerprint ---------------------------------------------------------------


async def test_the_stored_fingerprint_is_keyed(gateway: Gateway) -> None:
    assert (await gateway.file("teacher1", REPORT, key="fp-1")).status_code == 201
    record = await store.get_idempotency(
        gateway.store("school_liaison"), user_id="teacher1", key="fp-1"
    )
    assert record is not None
    body = ReportCreate.model_validate(REPORT)
    assert record.fingerprint != hashlib.sha256(body.model_dump_json().encode()).hexdigest()
    sealer = gateway.apps["school_liaison"].state.sealer  # holds the key derived from PII_KEY
    assert record.fingerprint == domain.request_fingerprint(body, key=sealer.fingerprint_key)
    other = domain.request_fingerprint(body, key=fingerprint_key(b"\x01" * 32))
    assert other != record.fingerprint
    replay = await gateway.file("teacher1", REPORT, key="fp-1")  # same body: still replayed
    assert replay.status_code == 201
    assert replay.headers["Idempotent-Replayed"] == "true"
