"""Identity and hygiene at the gateway: partner clients, revocation, throttling, headers."""

from __future__ import annotations

from tests.support import Gateway

CLIENT = {
    "client_id": "rainbow-cms",
    "display_name": "Rainbow case management system",
    "role": "social_worker",
    "org_id": "org-rainbow",
}


async def client_token(gateway: Gateway, client_id: str, secret: str) -> dict[str, str]:
    form = {"grant_type": "client_credentials", "client_id": client_id, "client_secret": secret}
    r = await gateway.client.post("/v1/auth/token", data=form)
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


async def test_a_partner_system_logs_in_with_client_credentials_and_can_be_revoked(
    gateway: Gateway,
) -> None:
    created = await gateway.call("admin1", "POST", "/v1/admin/clients", json=CLIENT)
    assert created.status_code == 201
    secret = created.json()["client_secret"]
    listed = (await gateway.get("admin1", "/v1/admin/clients")).json()
    assert "client_secret" not in str(listed)
    assert "secret_hash" not in str(listed)

    headers = await client_token(gateway, "rainbow-cms", secret)
    me = (await gateway.client.get("/v1/me", headers=headers)).json()
    assert me["user_id"] == "client:rainbow-cms"
    assert me["org_id"] == "org-rainbow"

    wrong = {"grant_type": "client_credentials", "client_id": "rainbow-cms", "client_secret": "x"}
    assert (await gateway.client.post("/v1/auth/token", data=wrong)).status_code == 401

    revoked = await gateway.call("admin1", "DELETE", "/v1/admin/clients/rainbow-cms")
    assert revoked.status_code == 204
    assert (await gateway.client.get("/v1/me", headers=headers)).status_code == 401


async def test_a_deactivated_or_demoted_user_is_locked_out_at_once(gateway: Gateway) -> None:
    await gateway.auth("teacher2")
    assert (await gateway.get("teacher2", "/v1/me")).status_code == 200
    off = await gateway.call("admin1", "PATCH", "/v1/admin/users/teacher2", json={"active": False})
    assert off.status_code == 200
    assert (await gateway.get("teacher2", "/v1/me")).status_code == 401

    await gateway.auth("officer2")
    scope = {"role": "police_officer", "school_ids": ["sch-04"]}
    moved = await gateway.call("admin1", "PATCH", "/v1/admin/users/officer2", json={"scope": scope})
    assert moved.status_code == 200
    # Same role, new beat: the old token names the old beat, so it is no longer accepted.
    assert (await gateway.get("officer2", "/v1/me")).status_code == 401


async def test_a_scope_that_does_not_fit_the_role_is_422(gateway: Gateway) -> None:
    bad = {
        "username": "t99",
        "password": "long-enough-secret",
        "display_name": "x",
        "role": "teacher",
    }
    r = await gateway.call("admin1", "POST", "/v1/admin/users", json=bad)
    assert r.status_code == 422
    assert "school_id" in r.text
    short = {**bad, "school_id": "sch-01", "password": "short"}
    r = await gateway.call("admin1", "POST", "/v1/admin/users", json=short)
    assert r.status_code == 422
    assert "password" in r.text


async def test_repeated_wrong_passwords_are_throttled(gateway: Gateway) -> None:
    form = {"username": "officer3", "password": "guess"}
    codes = [(await gateway.client.post("/v1/auth/token", data=form)).status_code for _ in range(4)]
    assert codes == [401] * 3 + [429]
    right = await gateway.client.post(
        "/v1/auth/token", data={"username": "officer3", "password": "demo"}
    )
    assert right.status_code == 429
    assert int(right.headers["Retry-After"]) > 0


async def test_bodies_of_the_wrong_type_are_415_and_answers_carry_security_headers(
    gateway: Gateway,
) -> None:
    headers = {**await gateway.auth("teacher1"), "Content-Type": "text/plain"}
    r = await gateway.client.post("/v1/reports", content=b"hello", headers=headers)
    assert r.status_code == 415
    ok = await gateway.get("teacher1", "/v1/me")
    assert ok.headers["X-Content-Type-Options"] == "nosniff"
    assert ok.headers["X-Frame-Options"] == "DENY"
    assert "default-src 'none'" in ok.headers["Content-Security-Policy"]
    assert ok.headers["Cache-Control"] == "no-store"


async def test_cors_is_closed_by_default(gateway: Gateway) -> None:
    preflight = await gateway.client.options(
        "/v1/reports",
        headers={"Origin": "https://evil.example", "Access-Control-Request-Method": "POST"},
    )
    assert "access-control-allow-origin" not in preflight.headers


async def test_the_admin_lists_page_by_id_and_bound_their_size(gateway: Gateway) -> None:
    seen: list[str] = []
    headers = await gateway.auth("admin1")
    url: str | None = "/v1/admin/users?limit=3"
    while url:
        r = await gateway.client.get(url, headers=headers)
        assert len(r.json()) <= 3
        seen.extend(u["id"] for u in r.json())
        url = r.links.get("next", {}).get("url")  # the next page, by an opaque cursor
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) > 3
    assert "admin1" in seen
    assert "teacher1" in seen
    too_many = await gateway.get("admin1", "/v1/admin/clients", limit=501)
    assert too_many.status_code == 422
    assert too_many.json()["detail"][0]["loc"][-1] == "limit"
