"""The gateway: composition root of the one public door."""

from __future__ import annotations

import httpx
from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gateway import (
    admin,
    assignees_api,
    audit_api,
    catalogue,
    chronology_api,
    console,
    contract,
    inspections_api,
    ledger_api,
    outcomes_api,
    patrol_api,
    pipeline_api,
    school_registry,
    schools_api,
    shifts_api,
    store,
    stream_api,
    tasks_api,
    webhooks_api,
)
from gateway.accounts import AccountCache
from gateway.api import router
from gateway.audit import record_erasure
from gateway.auth import TokenCache
from gateway.demo import DEMO_PASSWORD
from gateway.limits import BodyLimitMiddleware, HygieneMiddleware, LoginThrottle, RateLimiter
from gateway.parts import NAME, GatewayParts, opener
from gateway.settings import Settings
from shared.app import Background, build_app
from shared.store import Store
from shared.streams import GATEWAY_ERASURES


async def setup(app: FastAPI, parts: GatewayParts) -> None:
    if app.state.settings.demo_mode:
        demo_hash = await parts.passwords.hash(DEMO_PASSWORD)
        await store.seed_demo_users(parts.store, password_hash=demo_hash)
    parts.bus.consume(GATEWAY_ERASURES, record_erasure(parts.audit))


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,  # tests hand in an adapter (shadows the module only in here)
    transports: dict[str, httpx.AsyncBaseTransport] | None = None,
) -> FastAPI:
    settings = settings or Settings()
    app = build_app(
        name=NAME,
        settings=settings,
        open_parts=opener(settings, store=store, transports=transports),
        routers=[
            router,
            chronology_api.router,
            tasks_api.router,
            assignees_api.router,
            ledger_api.router,
            outcomes_api.router,
            admin.router,
            pipeline_api.router,
            audit_api.router,
            schools_api.router,
            school_registry.router,
            inspections_api.router,
            patrol_api.router,
            shifts_api.router,
            stream_api.router,
            console.router,
            catalogue.router,
            webhooks_api.router,
        ],
        setup=setup,
        background=[
            Background[GatewayParts]("audit-checkpoints", lambda p: p.checkpoints.run()),
            Background[GatewayParts]("stream", lambda p: p.stream.run()),
        ],
        report=GatewayParts.report,
        title="Hulei (护蕾) public API",
        description="Concern reports from schools become police and social-worker tasks.",
    )
    contract.install(app)
    app.state.accounts = AccountCache(ttl_s=settings.account_cache_s)
    app.state.tokens = TokenCache()
    app.state.rate_limiter = RateLimiter(rate=settings.rate_per_s, burst=settings.rate_burst)
    app.state.login_throttle = LoginThrottle(
        free_failures=settings.login_max_failures,
        max_delay_s=settings.login_max_delay_s,
        source_max_failures=settings.login_source_max_failures,
        window_s=settings.login_window_s,
    )
    # Outside the builder's error handling, so it never buffers more than the limit allows.
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(HygieneMiddleware)
    if settings.cors_origins:  # closed by default: only listed browser origins may call
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.cors_origins,
            allow_methods=["GET", "POST", "PATCH", "DELETE"],
            allow_headers=["Authorization", "Content-Type", "Idempotency-Key", "X-Hulei-Purpose"],
        )
    return app
