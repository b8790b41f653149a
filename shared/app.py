"""The one app builder of the four services and the gateway.

Each app hands in what differs (its parts, a setup hook, background tasks, routers); the
builder owns what must not differ: one lifespan (tracing, parts, setup, background tasks,
shutdown in reverse), the probes /healthz /readyz /metrics, request metrics and server spans
named by route template, error handling (422 without echoed values, 503 for a store that is
away, a bare 500 with the trace id).

Lifespan order: open_parts → setup → background tasks started in order. Shutdown: background
tasks cancelled and awaited in reverse order, then the parts close (so no task ever runs on a
closed store or bus).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any, Generic, Protocol, TypeVar

import nats.errors
import nats.js.errors
from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import JSONResponse, Response
from starlette.routing import Mount, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from shared.errors import install_error_handling
from shared.metrics import Metrics, MetricsMiddleware, metrics_response
from shared.settings import BaseServiceSettings
from shared.store import StoreUnavailableError
from shared.tasks import stop
from shared.telemetry import ServerSpans, current_trace_id, setup_tracing
from shared.usecases import Refused

log = logging.getLogger("hulei.app")
RETRY_AFTER_S = "5"
# Probes are polled every few seconds by every orchestrator: spans for them are noise.
UNTRACED = frozenset({"/healthz", "/readyz", "/metrics"})


class Parts(Protocol):
    """What an app's lifespan builds (a service's Runtime, the gateway's parts)."""

    async def ready(self) -> dict[str, bool]:
        """Checks that must all pass for /readyz to answer 200."""
        ...


P = TypeVar("P", bound=Parts)
OpenParts = Callable[[FastAPI, Metrics], AbstractAsyncContextManager[P]]
Setup = Callable[[FastAPI, P], Awaitable[None]]
Report = Callable[[P], Awaitable[dict[str, object]]]


@dataclass(frozen=True)
class Background(Generic[P]):
    """A coroutine that runs from after setup until shutdown, when it is cancelled (it may
    finish its work in a `finally`, e.g. a last checkpoint) before the parts close."""

    name: str
    run: Callable[[P], Coroutine[Any, Any, None]]


async def store_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    """The store is down or a transaction kept conflicting: retry later, not a bug (no 500)."""
    return JSONResponse(
        {"detail": "the store is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


async def bus_unavailable(_request: Request, _exc: Exception) -> JSONResponse:
    """NATS did not answer in time or is away: retry later, not a bug (no 500)."""
    return JSONResponse(
        {"detail": "the event bus is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


BUS_AWAY = (
    nats.errors.TimeoutError,
    nats.errors.NoRespondersError,
    nats.errors.ConnectionClosedError,
    nats.errors.OutboundBufferLimitError,
    nats.js.errors.ServiceUnavailableError,
)
UNAVAILABLE = {
    "description": "the store or the event bus is unavailable; retry after Retry-After",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}


def _with_unavailable(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """Every operation can meet a store or bus that is away (503): the document says so."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for path in schema.get("paths", {}).values():
                for operation in path.values():
                    operation.setdefault("responses", {}).setdefault("503", UNAVAILABLE)
        return app.openapi_schema or build()

    return openapi


async def refused(_request: Request, exc: Exception) -> JSONResponse:
    """A use case's refusal (shared/usecases.py), answered with its status."""
    if not isinstance(exc, Refused):
        raise TypeError(f"registered for Refused, got {type(exc).__name__}")
    return JSONResponse(exc.body(), status_code=exc.status)


async def unexpected(_request: Request, exc: Exception) -> JSONResponse:
    # No stack trace or internals in the answer; the trace id finds the logs.
    log.exception("unhandled error", exc_info=exc)
    return JSONResponse(
        {"detail": "internal error", "trace_id": current_trace_id()}, status_code=500
    )


@asynccontextmanager
async def _running(
    background: Sequence[Background[P]], parts: P
) -> AsyncIterator[dict[str, asyncio.Task[None]]]:
    tasks = {job.name: asyncio.create_task(job.run(parts), name=job.name) for job in background}
    try:
        yield tasks
    finally:
        for name in reversed(list(tasks)):
            try:
                await stop(tasks[name])
            except Exception:  # one task's failure must not keep the others (or parts) open
                log.exception("background task %s failed", name)


# The server's own `send`, kept in the scope: a long-lived response (the event stream) sends
# its many body chunks straight to the server, past middleware that only look at the start.
SERVER_SEND = "hulei.server_send"


class _App(FastAPI):
    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        scope[SERVER_SEND] = send
        try:
            await super().__call__(scope, receive, send)
        finally:
            # The server's `send` is a method of the object that holds this scope (uvicorn's
            # RequestResponseCycle): left in it, every request (scope, request state, exit
            # stacks, body) was a reference cycle that only the garbage collector freed.
            scope.pop(SERVER_SEND, None)


def build_app(
    *,
    name: str,
    settings: BaseServiceSettings,
    open_parts: OpenParts[P],
    routers: Sequence[APIRouter],
    setup: Setup[P] | None = None,
    background: Sequence[Background[P]] = (),
    report: Report[P] | None = None,
    title: str,
    description: str = "",
    docs: bool = True,
) -> FastAPI:
    """An app whose lifespan opens `open_parts(app, metrics)` (stored as `app.state.parts`),
    runs `setup(app, parts)`, then the `background` tasks (`app.state.background`, by name).

    /readyz answers 200 when every check of `parts.ready()` passes; `report(parts)` adds
    fields that are shown but do not count (the gateway's view of the services).
    """
    metrics = Metrics(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_tracing(service=name, exporter=settings.otel_exporter)
        async with open_parts(app, metrics) as parts:
            app.state.parts = parts
            if setup is not None:
                await setup(app, parts)
            async with _running(background, parts) as tasks:
                app.state.background = tasks
                yield

    app = _App(
        title=title,
        description=description,
        version="1",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
        # Off: FastAPI's own OpenTelemetry layer would keep each request's body and arguments
        # in the trace context and add spans per dependency; ServerSpans below is the one
        # span per request we want, and request metrics are Prometheus's (MetricsMiddleware).
        telemetry={"tracing": False, "metrics": False, "logs": False, "operation_spans": False},
    )
    app.state.settings = settings
    app.state.metrics = metrics
    install_error_handling(app)
    # Outside the JSON check, so its refusals are counted too (as route "unmatched").
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_exception_handler(StoreUnavailableError, store_unavailable)
    for error in BUS_AWAY:
        app.add_exception_handler(error, bus_unavailable)
    app.add_exception_handler(Refused, refused)
    app.add_exception_handler(Exception, unexpected)
    # Outermost: server spans named by route template (`GET /v1/cases/{case_id}`),
    # continuing the caller's trace (traceparent).
    app.add_middleware(ServerSpans, untraced=UNTRACED)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return await metrics_response(metrics)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": name}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        parts: P = request.app.state.parts
        checks = await parts.ready()
        ok = all(checks.values())
        body: dict[str, object] = {"status": "ready" if ok else "not_ready", "checks": checks}
        if report is not None:
            body.update(await report(parts))
        return JSONResponse(body, status_code=200 if ok else 503)

    adopt_routes(app.router, *routers)
    app.openapi = _with_unavailable(app)  # type: ignore[method-assign]
    return app


def adopt_routes(target: APIRouter, *routers: APIRouter) -> None:
    """Put the routers' routes, as they were built at import, into `target`. Not
    `include_router`: FastAPI then rebuilds every route of the router again for each app on
    its first request (~0.4 s of CPU for the gateway, again in every test that builds one)
    and matches each request through a slower wrapper. Our routers carry their prefix, tags
    and dependencies themselves, so the routes are the same; nothing is added here."""
    for router in routers:
        nested = [r for r in router.routes if not isinstance(r, Route | Mount | WebSocketRoute)]
        if nested:  # a router brought in with include_router would be wrapped, not adopted
            raise TypeError(f"adopt the routes of {nested[0]!r} instead of including it")
        target.routes.extend(router.routes)
