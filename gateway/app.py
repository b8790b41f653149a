"""The gateway: composition root of the one public door."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
from argon2 import PasswordHasher
from fastapi import FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse, Response

from gateway import admin, audit_api
from gateway import store as db
from gateway.api import router
from gateway.audit import AuditLog, record_erasure
from gateway.audit_check import Checkpointer
from gateway.auth import Passwords
from gateway.clients import Services
from gateway.limits import BodyLimitMiddleware, HygieneMiddleware, LoginThrottle, RateLimiter
from gateway.settings import Settings
from shared.bus import Bus
from shared.demo import DEMO_PASSWORD
from shared.errors import install_error_handling
from shared.metrics import Metrics, metrics_response
from shared.store import Store, StoreUnavailableError, open_store
from shared.streams import GATEWAY_ERASURES
from shared.telemetry import current_trace_id, http_tracing_middleware, setup_tracing
from shared.web import store_unavailable

NAME = "gateway"
log = logging.getLogger("hulei.gateway")


def nats_bus(
    settings: Settings, *, name: str, metrics: Metrics | None = None, replayer: bool = False
) -> Bus:
    """The gateway's bus, or (replayer) the one it replays dead letters through."""
    user, password = settings.nats_user, settings.nats_password
    if replayer:
        user, password = settings.replayer_nats_user, settings.replayer_nats_password
    return Bus(
        url=settings.nats_url,
        name=name,
        replicas=settings.stream_replicas,
        metrics=metrics,
        user=user,
        password=password.get_secret_value() if password else None,
        ca_file=settings.nats_ca_file,
    )


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        setup_tracing(service=NAME, exporter=settings.otel_exporter)
        app.state.store = store or await open_store(settings.store_url)
        app.state.passwords = Passwords(PasswordHasher())
        app.state.audit = await AuditLog.open(
            app.state.store,
            key=settings.audit_key.get_secret_value(),
            chain=settings.audit_chain,
        )
        if settings.demo_mode:
            demo_hash = await app.state.passwords.hash(DEMO_PASSWORD)
            await db.seed_demo_users(app.state.store, password_hash=demo_hash)
        app.state.bus = nats_bus(settings, name=NAME, metrics=metrics)
        app.state.replayer = nats_bus(settings, name=f"{NAME}-replayer", replayer=True)
        await app.state.bus.connect()
        await app.state.replayer.connect()
        app.state.bus.consume(GATEWAY_ERASURES, record_erasure(app.state.audit))
        checkpoints = Checkpointer(
            app.state.audit, app.state.bus, every_s=settings.audit_checkpoint_s
        )
        checkpoints.start()
        app.state.audit_checkpoints = checkpoints
        app.state.services = Services(
            urls=settings.service_urls(),
            signing_key=settings.signing_key,
            timeout_s=settings.service_timeout_s,
            transports=transports,
        )
        try:
            yield
        finally:
            await app.state.services.close()
            await app.state.audit.close()
            await checkpoints.stop()
            await app.state.bus.close()
            await app.state.replayer.close()
            await app.state.store.close()

    app = FastAPI(
        title="Hulei (护蕾) public API",
        version="1",
        description="Concern reports from schools become police and social-worker tasks.",
        lifespan=lifespan,
    )
    app.state.settings = settings
    app.state.rate_limiter = RateLimiter(rate=settings.rate_per_s, burst=settings.rate_burst)
    app.state.login_throttle = LoginThrottle(
        free_failures=settings.login_max_failures,
        max_delay_s=settings.login_max_delay_s,
        source_max_failures=settings.login_source_max_failures,
        window_s=settings.login_window_s,
    )
    metrics = Metrics(NAME)

    async def dead_letters() -> None:
        await app.state.bus.refresh_gauges()

    metrics.on_scrape(dead_letters)
    app.middleware("http")(metrics.middleware())
    app.middleware("http")(http_tracing_middleware(NAME))
    install_error_handling(app)  # inside the body limit: never buffers more than it allows
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HygieneMiddleware)
    if settings.cors_origins:  # closed by default: only listed browser origins may call
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Hulei-Purpose"],
        )
    app.include_router(router)
    app.include_router(admin.router)
    app.include_router(audit_api.router)

    app.add_exception_handler(StoreUnavailableError, store_unavailable)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # No stack trace or internals in the answer; the trace id finds the logs.
        log.exception("unhandled error")
        return JSONResponse(
            {"detail": "internal error", "trace_id": current_trace_id()}, status_code=500
        )

    @app.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        return await metrics_response(metrics)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "service": NAME}

    @app.get("/readyz", include_in_schema=False)
    async def readyz(request: Request) -> JSONResponse:
        # Ready means the gateway itself can work (NATS, its store). The services are
        # reported but do not count: one service down must not take every route down.
        try:
            await request.app.state.store.ping()
            store_ok = True
        except Exception:
            store_ok = False
        checks = {"nats": request.app.state.bus.connected, "store": store_ok}
        ok = all(checks.values())
        services = await request.app.state.services.readiness()
        return JSONResponse(
            {"status": "ready" if ok else "not_ready", "checks": checks, "services": services},
            status_code=200 if ok else 503,
        )

    return app
