"""What every request through the gateway costs: nothing on worker threads, no per-request
HTTP middleware, a service's answer passed on as its bytes, no failing import per call."""

from __future__ import annotations

import importlib.util
import inspect
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from starlette.middleware.base import BaseHTTPMiddleware

from gateway import admin, api, audit_api
from gateway.app import create_app
from gateway.clients import Services
from gateway.settings import Settings
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit


def _calls(dependant: Dependant) -> Iterator[Any]:
    for sub in dependant.dependencies:
        yield sub.call
        yield from _calls(sub)


def _is_async(call: Any) -> bool:
    """A coroutine function, or an instance whose __call__ is one (OAuth2PasswordBearer)."""
    if inspect.iscoroutinefunction(call):
        return True
    method = type(call).__call__ if not inspect.isclass(call) else None
    return method is not None and inspect.iscoroutinefunction(method)


def test_no_route_runs_a_dependency_or_handler_on_a_worker_thread() -> None:
    calls: list[Any] = []
    for router in (api.router, admin.router, audit_api.router):
        calls += [d.dependency for d in router.dependencies]
        for route in router.routes:
            assert isinstance(route, APIRoute)
            calls += [route.endpoint, *_calls(route.dependant)]
    assert len(calls) > 20
    sync = {getattr(call, "__name__", repr(call)) for call in calls if not _is_async(call)}
    assert sync == set()


def test_the_gateway_has_no_base_http_middleware() -> None:
    app = create_app(Settings(demo_mode=True))
    classes = [m.cls for m in app.user_middleware]
    assert not [c for c in classes if isinstance(c, type) and issubclass(c, BaseHTTPMiddleware)]


def test_httpcore_finds_sniffio() -> None:
    # Without it httpcore tries (and fails) to import it several times per service call.
    assert importlib.util.find_spec("sniffio") is not None


async def test_a_service_answer_is_relayed_byte_for_byte() -> None:
    sent = b'{"id":"r-1", "child_ref":"c-9",  "note":"\\u00e9"}'
    service = FastAPI()

    @service.post("/reports")
    async def create() -> Response:
        headers = {"Idempotent-Replayed": "true", "X-Internal": "no"}
        return Response(sent, status_code=201, media_type="application/json", headers=headers)

    services = Services(
        urls={"school_liaison": "http://school"},
        signing_key=Ed25519PrivateKey.generate(),
        timeout_s=5,
        transports={"school_liaison": httpx.ASGITransport(app=service)},
    )
    try:
        principal = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
        answer = await services.relay("school_liaison", "POST", "/reports", principal=principal)
    finally:
        await services.close()
    assert answer.status_code == 201
    assert bytes(answer.body) == sent
    assert answer.headers["idempotent-replayed"] == "true"
    assert "x-internal" not in answer.headers
    assert answer.headers["content-length"] == str(len(sent))
