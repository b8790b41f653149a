"""What every request costs: no dependency or handler on a worker thread (gateway and services),
no per-request HTTP middleware, a service's answer passed on as its bytes, no failing import."""

from __future__ import annotations

import importlib
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


def _api_routes(
    routes: list[Any], inherited: tuple[Any, ...]
) -> Iterator[tuple[APIRoute, tuple[Any, ...]]]:
    """Every APIRoute, also inside included routers (FastAPI keeps those unflattened)."""
    for route in routes:
        if isinstance(route, APIRoute):
            yield route, inherited
        elif (router := getattr(route, "original_router", None)) is not None:
            deps = tuple(d.dependency for d in router.dependencies)
            yield from _api_routes(router.routes, inherited + deps)


def _apps() -> Iterator[tuple[str, FastAPI]]:
    yield "gateway", create_app(Settings(demo_mode=True))
    for name in ("school_liaison", "case_tracking", "patrol", "notifications"):
        app_module = importlib.import_module(f"services.{name}.app")
        settings = importlib.import_module(f"services.{name}.settings").Settings(demo_mode=True)
        yield name, app_module.create_app(settings)


@pytest.mark.parametrize(
    ("name", "app"), list(_apps()), ids=lambda v: v if isinstance(v, str) else ""
)
def test_no_route_runs_a_dependency_or_handler_on_a_worker_thread(name: str, app: FastAPI) -> None:
    # Starlette runs a plain `def` on a worker thread: ~60 µs of hand-off per call, every request.
    calls: list[Any] = []
    for route, router_dependencies in _api_routes(app.routes, ()):
        calls += [route.endpoint, *_calls(route.dependant), *router_dependencies]
    assert calls, name
    sync = {getattr(call, "__name__", repr(call)) for call in calls if not _is_async(call)}
    assert sync == set(), name


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
