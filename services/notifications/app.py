"""notifications: composition root."""

from __future__ import annotations

import httpx
from fastapi import APIRouter, FastAPI

from services.notifications import handlers
from services.notifications.api import router
from services.notifications.settings import Settings
from services.notifications.store import MIGRATIONS
from services.notifications.webhook_api import router as webhook_router
from services.notifications.webhook_sender import Clock, Deliverer, wall_clock
from shared.app import Background, adopt_routes
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "notifications"


def create_app(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    clock: Clock = wall_clock,
    transport: httpx.AsyncBaseTransport | None = None,
) -> FastAPI:
    """`clock` and `transport` let tests move webhook time and route their sends."""
    config = settings or Settings()

    async def setup(_app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        handlers.register(runtime)

    async def deliver_webhooks(runtime: Runtime) -> None:
        await Deliverer(runtime, settings=config, clock=clock, transport=transport).run()

    routes = APIRouter()
    adopt_routes(routes, router, webhook_router)
    app = service_app(
        name=NAME,
        settings=config,
        router=routes,
        setup=setup,
        background=[Background("webhooks", deliver_webhooks)],
        store=store,
    )
    app.state.clock = clock
    return app
