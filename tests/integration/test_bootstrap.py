"""Without demo data, the first administrator is created by a command, then logs in."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from gateway.app import create_app
from gateway.settings import Settings
from shared.identity import generate_keypair
from tests.support import NatsLogin

SECRETS = {
    "HULEI_GATEWAY_INTERNAL_SIGNING_KEY": generate_keypair()[0],
    "HULEI_GATEWAY_JWT_SECRET": "a-real-jwt-signing-secret-of-sufficient-length",
    "HULEI_GATEWAY_AUDIT_KEY": "a-real-audit-chain-key-of-sufficient-length",
}


def bootstrap(store_url: str, password: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **SECRETS,
        "HULEI_GATEWAY_STORE_URL": store_url,
        "HULEI_ADMIN_PASSWORD": password,
    }
    argv = [sys.executable, "-m", "gateway.bootstrap", "--username", "chief"]
    return subprocess.run(argv, env=env, capture_output=True, text=True, timeout=60)


@pytest.mark.usefixtures("declared")
async def test_the_first_admin_is_created_once_and_can_log_in(
    tmp_path: Path, nats_url: str, nats_login: NatsLogin
) -> None:
    store_url = f"sqlite:///{tmp_path / 'gateway.db'}"
    assert bootstrap(store_url, "short").returncode != 0
    first = bootstrap(store_url, "a-long-admin-password")
    assert first.returncode == 0, first.stderr
    again = bootstrap(store_url, "another-long-password")
    assert again.returncode != 0
    assert "already exists" in again.stderr

    settings = Settings(
        **nats_login("gateway"),
        demo_mode=False,
        store_url=store_url,
        nats_url=nats_url,
        internal_signing_key=SECRETS["HULEI_GATEWAY_INTERNAL_SIGNING_KEY"],
        jwt_secret=SECRETS["HULEI_GATEWAY_JWT_SECRET"],
        audit_key=SECRETS["HULEI_GATEWAY_AUDIT_KEY"],
    )
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as http:
            form = {"username": "chief", "password": "a-long-admin-password"}
            token = (await http.post("/v1/auth/token", data=form)).json()["access_token"]
            users = await http.get("/v1/admin/users", headers={"Authorization": f"Bearer {token}"})
            assert [u["id"] for u in users.json()] == ["chief"]  # no demo accounts
            demo = {"username": "teacher1", "password": "demo"}
            assert (await http.post("/v1/auth/token", data=demo)).status_code == 401
