"""school_liaison: composition root."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

from fastapi import FastAPI

from services.school_liaison import handlers, retention
from services.school_liaison.api import router
from services.school_liaison.privacy import Sealer
from services.school_liaison.settings import Settings
from services.school_liaison.store import MIGRATIONS, seed_demo_schools
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "school_liaison"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()

    async def setup(app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        if settings.demo_mode:
            await seed_demo_schools(runtime.store)
        app.state.sealer = Sealer(settings.pii_key.get_secret_value())
        handlers.register(runtime)
        app.state.retention_sweep = asyncio.create_task(
            retention.sweep_periodically(runtime, interval_s=settings.retention_sweep_s),
            name="retention-sweep",
        )

    app = service_app(name=NAME, settings=settings, router=router, setup=setup, store=store)
    _stop_sweep_before_runtime(app)
    return app


def _stop_sweep_before_runtime(app: FastAPI) -> None:
    """service_app's lifespan has no shutdown hook for a service's own tasks: wrap it, so the
    sweep is cancelled before the runtime (and its store) closes underneath it."""
    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with inner(app):
            try:
                yield
            finally:
                task: asyncio.Task[None] | None = getattr(app.state, "retention_sweep", None)
                if task is not None:
                    task.cancel()
                    with suppress(asyncio.CancelledError):
                        await task

    app.router.lifespan_context = lifespan
