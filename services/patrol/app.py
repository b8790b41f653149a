"""patrol: composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.patrol import handlers
from services.patrol.api import router
from services.patrol.inspections import demo as inspections_demo
from services.patrol.inspections import store as inspections_store
from services.patrol.inspections import sweep
from services.patrol.settings import Settings
from services.patrol.store import MIGRATIONS
from shared.app import Background
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "patrol"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()

    async def setup(_app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        await migrate(
            runtime.store,
            component=inspections_store.COMPONENT,
            migrations=inspections_store.MIGRATIONS,
        )
        handlers.register(runtime)

    overdue = Background[Runtime](
        "rectification-sweep",
        lambda runtime: sweep.sweep_periodically(
            runtime, interval_s=settings.rectification_sweep_s
        ),
    )
    background = [overdue]
    if settings.demo_mode and settings.demo_inspections:
        background.append(
            Background[Runtime]("demo-inspections", inspections_demo.seed_after_start)
        )
    return service_app(
        name=NAME,
        settings=settings,
        router=router,
        setup=setup,
        background=background,
        store=store,
    )
