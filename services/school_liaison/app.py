"""school_liaison: composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.school_liaison import handlers, retention
from services.school_liaison.api import router
from services.school_liaison.privacy import Sealer
from services.school_liaison.settings import Settings
from services.school_liaison.store import MIGRATIONS, seed_demo_schools
from shared.app import Background
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

    sweep = Background[Runtime](
        "retention-sweep",
        lambda runtime: retention.sweep_periodically(
            runtime, interval_s=settings.retention_sweep_s
        ),
    )
    return service_app(
        name=NAME,
        settings=settings,
        router=router,
        setup=setup,
        background=[sweep],
        store=store,
    )
