"""case_tracking: composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.case_tracking import handlers
from services.case_tracking import store as db
from services.case_tracking.api import router
from services.case_tracking.settings import Settings
from shared.runtime import Runtime
from shared.store import Store
from shared.web import service_app

NAME = "case_tracking"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    async def setup(app: FastAPI, runtime: Runtime) -> None:
        await db.prepare(runtime.store)
        handlers.register(runtime)

    return service_app(
        name=NAME, settings=settings or Settings(), router=router, setup=setup, store=store
    )
