"""Each service, as its real app outside demo mode, trusts only the gateway's internal token made
out to it: another key (the published demo key too), another service's token, a long-lived, an
expired, an HMAC or an unsigned one is refused. Its own API docs are off outside demo mode."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

from deploy.launcher import Platform
from gateway.clients import Services
from services.case_tracking.app import create_app as case_tracking_app
from services.case_tracking.settings import Settings as CaseSettings
from services.notifications.app import create_app as notifications_app
from services.notifications.settings import Settings as NotificationSettings
from services.patrol.app import create_app as patrol_app
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.app import create_app as school_app
from services.school_liaison.settings import Settings as SchoolSettings
from shared.identity import (
    INTERNAL_ALGORITHM,
    INTERNAL_ISSUER,
    Principal,
    Role,
    generate_keypair,
    internal_audience,
    load_signing_key,
    mint_internal_token,
)
from shared.settings import DEMO_INTERNAL_SIGNING_KEY
from shared.web import INTERNAL_HEADER
from tests.support import Gateway, NatsLogin

SIGNING_KEY, VERIFY_KEY = generate_keypair()  # this test's gateway key pair
GATEWAY_KEY = load_signing_key(SIGNING_KEY)
REAL_PII_KEY = "cmVhbC1waWkta2V5LW5vdC1mb3ItZGVtby0wMTIzNDU="
DISPATCHER = Principal(user_id="dispatcher-1", role=Role.dispatcher)

# service → (app factory, settings class, extra settings, a GET route every dispatcher may call)
SERVICES: dict[str, tuple[Callable[..., FastAPI], type[Any], dict[str, Any], str]] = {
    "school_liaison": (school_app, SchoolSettings, {"pii_key": REAL_PII_KEY}, "/schools"),
    "case_tracking": (case_tracking_app, CaseSettings, {"notes_key": REAL_PII_KEY}, "/tasks"),
    "patrol": (patrol_app, PatrolSettings, {}, "/welfare-checks"),
    "notifications": (notifications_app, NotificationSettings, {}, "/notifications"),
}


@asynccontextmanager
async def running(
    service: str, declared: Platform, nats_login: NatsLogin, tmp_path: Path
) -> AsyncIterator[FastAPI]:
    """The service's real app outside demo mode, trusting this test's gateway key."""
    factory, settings_cls, extra, _ = SERVICES[service]
    settings = settings_cls(
        demo_mode=False,
        nats_url=declared.nats_url,
        **nats_login(service),
        store_url=f"sqlite:///{tmp_path / f'{service}.db'}",
        internal_verify_key=VERIFY_KEY,
        **extra,
    )
    app = factory(settings)
    async with app.router.lifespan_context(app):
        yield app


def signed(
    service: str, key: Any = GATEWAY_KEY, alg: str = INTERNAL_ALGORITHM, **claims: Any
) -> str:
    now = int(time.time())
    body = {
        "iss": INTERNAL_ISSUER,
        "aud": internal_audience(service),
        "iat": now,
        "exp": now + 30,
        "jti": "an-id",
        "sub": DISPATCHER.user_id,
        "principal": DISPATCHER.model_dump(mode="json"),
        **claims,
    }
    body = {k: v for k, v in body.items() if v is not None}  # None drops a claim
    return jwt.encode(body, key, algorithm=alg)


def refused_tokens(service: str) -> dict[str, str]:
    other = next(s for s in SERVICES if s != service)
    now = int(time.time())
    return {
        "a foreign key": mint_internal_token(
            DISPATCHER, key=Ed25519PrivateKey.generate(), service=service
        ),
        "the demo key": mint_internal_token(
            DISPATCHER, key=load_signing_key(DEMO_INTERNAL_SIGNING_KEY), service=service
        ),
        "another service's token": mint_internal_token(DISPATCHER, key=GATEWAY_KEY, service=other),
        "the old shared audience": signed(service, aud="hulei-internal"),
        "an hour's lifetime": signed(service, exp=now + 3600),
        "expired": signed(service, iat=now - 60, exp=now - 30),
        "HS256 keyed with the public key": signed(service, key=VERIFY_KEY, alg="HS256"),
        "no id": signed(service, jti=None),
    }


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_service_trusts_only_the_gateways_token_made_out_to_it(
    service: str, declared: Platform, nats_login: NatsLogin, tmp_path: Path
) -> None:
    path = SERVICES[service][3]
    async with running(service, declared, nats_login, tmp_path) as app:
        transport = httpx.ASGITransport(app=app)
        gateway = Services(
            urls={service: "http://service"},
            signing_key=GATEWAY_KEY,
            timeout_s=5.0,
            transports={service: transport},
        )
        try:
            answer = await gateway.call(service, "GET", path, principal=DISPATCHER)
            assert answer.status_code == 200, answer.text
        finally:
            await gateway.close()
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            assert (await http.get(path)).status_code == 401
            for why, token in refused_tokens(service).items():
                r = await http.get(path, headers={INTERNAL_HEADER: token})
                assert r.status_code == 401, why
            # The same claims, signed by the gateway's key, pass: the refusals above are the
            # defects', not the test's.
            ok = await http.get(path, headers={INTERNAL_HEADER: signed(service)})
            assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("service", list(SERVICES))
async def test_a_service_has_no_api_docs_outside_demo_mode(
    service: str, declared: Platform, nats_login: NatsLogin, tmp_path: Path
) -> None:
    async with running(service, declared, nats_login, tmp_path) as app:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            for path in ("/docs", "/redoc", "/openapi.json"):
                assert (await http.get(path)).status_code == 404, path


async def test_services_show_their_docs_in_demo_mode_and_the_gateway_its_public_docs(
    gateway: Gateway,
) -> None:
    for service in SERVICES:
        transport = httpx.ASGITransport(app=gateway.apps[service])
        async with httpx.AsyncClient(transport=transport, base_url="http://service") as http:
            assert (await http.get("/openapi.json")).status_code == 200, service
    for path in ("/docs", "/openapi.json"):
        assert (await gateway.client.get(path)).status_code == 200, path
