"""school_liaison: composition root."""

from __future__ import annotations

from datetime import timedelta

from fastapi import FastAPI

from services.school_liaison import cases_demo, handlers, programme_seed, retention
from services.school_liaison.api import router
from services.school_liaison.counselling import store as counselling_store
from services.school_liaison.counselling import sweep as counselling_sweep
from services.school_liaison.education import store as education_store
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
    sealer = Sealer(settings.pii_key.get_secret_value())

    async def setup(app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        await migrate(
            runtime.store,
            component=counselling_store.COMPONENT,
            migrations=counselling_store.MIGRATIONS,
        )
        if settings.demo_mode:
            await seed_demo_schools(runtime.store)
        await migrate(
            runtime.store,
            component=education_store.COMPONENT,
            migrations=education_store.MIGRATIONS,
        )
        app.state.sealer = sealer
        handlers.register(runtime, sealer=sealer)

    sweep = Background[Runtime](
        "retention-sweep",
        lambda runtime: retention.sweep_periodically(
            runtime, interval_s=settings.retention_sweep_s
        ),
    )
    overdue = Background[Runtime](
        "counselling-sweep",
        lambda runtime: counselling_sweep.sweep_periodically(
            runtime,
            interval_s=settings.counselling_sweep_s,
            grace=timedelta(hours=settings.counselling_grace_h),
        ),
    )
    background = [sweep, overdue]
    if settings.demo_mode and settings.demo_cases:
        background.append(
            Background[Runtime](
                "demo-cases", lambda runtime: cases_demo.seed(runtime, sealer=sealer)
            )
        )
    if settings.demo_mode and settings.demo_programme:
        background.append(
            Background[Runtime](
                "demo-programme",
                lambda runtime: programme_seed.seed_after_start(runtime, sealer=sealer),
            )
        )
    return service_app(
        name=NAME,
        settings=settings,
        router=router,
        setup=setup,
        background=background,
        store=store,
    )
