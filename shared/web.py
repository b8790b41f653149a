"""FastAPI pieces every service shares: health probes, the internal caller, dependency aliases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Annotated

import jwt
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import JSONResponse, Response

from shared.errors import install_error_handling
from shared.identity import Principal, read_internal_token
from shared.metrics import Metrics, metrics_response
from shared.runtime import Runtime, open_runtime
from shared.settings import ServiceSettings
from shared.store import Store, StoreUnavailableError
from shared.telemetry import http_tracing_middleware

INTERNAL_HEADER = "X-Hulei-Internal"
RETRY_AFTER_S = "5"


async def store_unavailable(request: Request, exc: Exception) -> JSONResponse:
    """The store is down or a transaction kept conflicting: retry later, not a bug (no 500)."""
    return JSONResponse(
        {"detail": "the store is unavailable; retry later"},
        status_code=503,
        headers={"Retry-After": RETRY_AFTER_S},
    )


def get_runtime(request: Request) -> Runtime:
    runtime: Runtime = request.app.state.runtime
    return runtime


def get_caller(
    request: Request,
    token: Annotated[str | None, Header(alias=INTERNAL_HEADER)] = None,
) -> Principal:
    """The principal the gateway vouches for, in a token meant for this service. A direct call
    without it, or with a token for another service, is refused."""
    if not token:
        raise HTTPException(401, "missing internal credential")
    settings = request.app.state.settings
    try:
        return read_internal_token(
            token, key=settings.verify_key, service=request.app.state.service_name
        )
    except jwt.InvalidTokenError as exc:
        raise HTTPException(401, "invalid internal credential") from exc


RuntimeDep = Annotated[Runtime, Depends(get_runtime)]
CallerDep = Annotated[Principal, Depends(get_caller)]


def install_common(app: FastAPI, *, service: str, metrics: Metrics) -> None:
    """Tracing and metrics middleware, the probes /healthz (alive) and /readyz (can do
    work), and /metrics (Prometheus)."""
    app.middleware("http")(metrics.middleware())
    app.middleware("http")(http_tracing_middleware(service))
    app.add_exception_handler(StoreUnavailableError, store_unavailable)

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return await metrics_response(metrics)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": service}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        checks = await get_runtime(request).ready()
        ok = all(checks.values())
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks},
            status_code=200 if ok else 503,
        )


def field_error(location: str, field: str, message: str) -> HTTPException:
    """A 422 shaped like FastAPI's own validation errors, naming the field."""
    return HTTPException(
        422, detail=[{"loc": [location, field], "msg": message, "type": "value_error"}]
    )


Setup = Callable[[FastAPI, Runtime], Awaitable[None]]


def service_app(
    *,
    name: str,
    settings: ServiceSettings,
    router: APIRouter,
    setup: Setup,
    store: Store | None = None,
) -> FastAPI:
    """A service's FastAPI app whose lifespan builds the runtime, then runs the service's setup
    (indexes, demo seed, consumers). `store` lets tests hand in an adapter of their choice."""

    metrics = Metrics(name)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_runtime(settings, name=name, store=store, metrics=metrics) as runtime:
            app.state.runtime = runtime
            await setup(app, runtime)
            yield

    # Internal API docs only in demo mode: outside it they map the service for an intruder and
    # serve nobody (clients use the gateway's API, documented at the gateway).
    docs = settings.demo_mode
    app = FastAPI(
        title=f"Hulei {name} (internal)",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url="/redoc" if docs else None,
        openapi_url="/openapi.json" if docs else None,
    )
    app.state.settings = settings
    app.state.service_name = name
    install_common(app, service=name, metrics=metrics)
    install_error_handling(app)
    app.include_router(router)
    return app
