"""patrol: composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.patrol import handlers
from services.patrol.api import router
from services.patrol.settings import Settings
from services.patrol.store import MIGRATIONS
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "patrol"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    async def setup(_app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        handlers.register(runtime)

    return service_app(
        name=NAME, settings=settings or Settings(), router=router, setup=setup, store=store
    )
