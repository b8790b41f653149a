"""The shared app builder: lifespan order, background tasks, probes, request metrics."""

from __future__ import annotations

import asyncio
import gc
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from fastapi import APIRouter, FastAPI
from starlette.middleware.base import BaseHTTPMiddleware

from shared.app import BUS_AWAY, Background, build_app
from shared.bus import bus_from_settings
from shared.metrics import Metrics
from shared.settings import BaseServiceSettings


class _Parts:
    def __init__(self, log: list[str]) -> None:
        self.log = log
        self.healthy = True

    async def ready(self) -> dict[str, bool]:
        return {"store": self.healthy}


def _app(log: list[str]) -> FastAPI:
    router = APIRouter()

    @router.get("/items/{item_id}")
    async def item(item_id: str) -> dict[str, str]:
        return {"id": item_id}

    @router.post("/items")
    async def add(item: dict[str, int]) -> dict[str, int]:
        return item

    @router.get("/bus/{fault}")
    async def bus(fault: int) -> dict[str, str]:
        raise BUS_AWAY[fault]()

    @asynccontextmanager
    async def open_parts(_app: FastAPI, _metrics: Metrics) -> AsyncIterator[_Parts]:
        log.append("open")
        yield _Parts(log)
        log.append("close")

    async def setup(_app: FastAPI, _parts: _Parts) -> None:
        log.append("setup")

    def job(name: str) -> Background[_Parts]:
        async def run(parts: _Parts) -> None:
            parts.log.append(f"start {name}")
            try:
                await asyncio.Event().wait()
            finally:
                parts.log.append(f"stop {name}")

        return Background(name, run)

    async def extra(_parts: _Parts) -> dict[str, object]:
        return {"peers": {"other": False}}

    return build_app(
        name="svc",
        settings=BaseServiceSettings(demo_mode=True),
        open_parts=open_parts,
        routers=[router],
        setup=setup,
        background=[job("first"), job("second")],
        report=extra,
        title="test",
    )


async def test_background_tasks_start_after_setup_and_stop_in_reverse_before_the_parts() -> None:
    log: list[str] = []
    app = _app(log)
    async with app.router.lifespan_context(app):
        await asyncio.sleep(0)  # let the tasks take their first step
        tasks = app.state.background
    assert log == [
        "open",
        "setup",
        "start first",
        "start second",
        "stop second",
        "stop first",
        "close",
    ]
    assert all(task.cancelled() for task in tasks.values())


async def test_readyz_counts_the_checks_and_shows_the_report() -> None:
    app = _app([])
    async with app.router.lifespan_context(app):
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
        ok = await http.get("/readyz")
        assert ok.status_code == 200
        expected = {"status": "ready", "checks": {"store": True}, "peers": {"other": False}}
        assert ok.json() == expected
        app.state.parts.healthy = False
        assert (await http.get("/readyz")).status_code == 503


async def test_request_metrics_are_labelled_by_route_template_without_http_middleware() -> None:
    app = _app([])
    classes = [m.cls for m in app.user_middleware]
    assert not [c for c in classes if isinstance(c, type) and issubclass(c, BaseHTTPMiddleware)]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    assert (await http.get("/items/it-4711")).status_code == 200
    assert (await http.get("/nowhere")).status_code == 404
    metrics: Metrics = app.state.metrics
    samples = {
        (s.labels["route"], s.labels["status"])
        for metric in metrics.registry.collect()
        if metric.name == "hulei_http_requests"
        for s in metric.samples
        if s.name.endswith("_total")
    }
    assert samples == {("/items/{item_id}", "200"), ("unmatched", "404")}


def test_a_bus_from_settings_carries_the_redelivery_rules_and_a_chosen_login() -> None:
    settings = BaseServiceSettings(
        demo_mode=True, max_deliver=3, retry_base_s=0.1, retry_cap_s=2.0, nats_user="svc"
    )
    bus = bus_from_settings(settings, name="svc")
    assert (bus.max_deliver, bus._retry_base_s, bus._retry_cap_s, bus._user) == (3, 0.1, 2.0, "svc")
    assert bus_from_settings(settings, name="r", login=("replayer", None))._user == "replayer"


async def test_a_body_refused_before_routing_is_counted_too() -> None:
    app = _app([])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    refused = await http.post("/items/x", content=b'{"n": NaN}')
    assert refused.status_code == 422
    metrics: Metrics = app.state.metrics
    value = metrics.registry.get_sample_value(
        "hulei_http_requests_total",
        {"service": "svc", "method": "POST", "route": "unmatched", "status": "422"},
    )
    assert value == 1


@pytest.mark.parametrize("fault", range(len(BUS_AWAY)), ids=lambda n: BUS_AWAY[n].__name__)
async def test_a_bus_that_is_away_is_503_with_retry_after_never_500(fault: int) -> None:
    app = _app([])
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")
    answer = await http.get(f"/bus/{fault}")
    assert answer.status_code == 503
    assert answer.headers["retry-after"]
    assert answer.json() == {"detail": "the event bus is unavailable; retry later"}


def test_every_operation_documents_503() -> None:
    operations = _app([]).openapi()["paths"].values()
    assert operations
    assert all("503" in op["responses"] for path in operations for op in path.values())


class _Server:
    """One request as uvicorn serves it: this object holds the scope and hands the app its own
    bound `receive` and `send` (uvicorn's RequestResponseCycle does the same)."""

    def __init__(self, method: str, path: str, body: bytes) -> None:
        headers = [(b"content-type", b"application/json")] if body else []
        self.scope = {
            **{"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1"},
            **{"scheme": "http", "server": ("127.0.0.1", 80), "client": ("127.0.0.1", 9)},
            **{"method": method, "path": path, "raw_path": path.encode(), "root_path": ""},
            **{"query_string": b"", "headers": headers, "state": {}},
        }
        self.body = body
        self.statuses: list[int] = []

    async def receive(self) -> dict[str, object]:
        return {"type": "http.request", "body": self.body, "more_body": False}

    async def send(self, message: dict[str, object]) -> None:
        if message["type"] == "http.response.start":
            self.statuses.append(int(message["status"]))  # type: ignore[call-overload]


@pytest.mark.parametrize(
    ("method", "path", "body", "status"),
    [
        ("GET", "/items/it-4711", b"", 200),
        ("POST", "/items", b'{"n": 1}', 200),
        ("POST", "/items", b'{"n": NaN}', 422),
        ("GET", "/nowhere", b"", 404),
    ],
)
async def test_a_served_request_is_freed_without_the_garbage_collector(
    method: str, path: str, body: bytes, status: int
) -> None:
    """A request that leaves a reference cycle behind (e.g. the server's `send` kept in its
    scope) is only freed by the collector: under load, its scans of every request's objects
    were a measurable share of each process's CPU (docs/performance.md, session 23)."""
    app = _app([])
    async with app.router.lifespan_context(app):
        server = _Server(method, path, body)
        gc.disable()
        try:
            await app(server.scope, server.receive, server.send)  # type: ignore[arg-type]
            assert server.statuses == [status]
            freed = weakref.ref(server)
            del server
            assert freed() is None
        finally:
            gc.enable()
