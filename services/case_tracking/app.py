"""case_tracking: composition root."""

from __future__ import annotations

from fastapi import FastAPI

from services.case_tracking import demo, handlers
from services.case_tracking.api import router
from services.case_tracking.notes import NoteSealer
from services.case_tracking.settings import Settings
from services.case_tracking.store import MIGRATIONS, task_load
from shared.app import Background
from shared.events import utcnow
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "case_tracking"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()

    async def setup(app: FastAPI, runtime: Runtime) -> None:
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        app.state.notes = NoteSealer(settings.notes_key.get_secret_value())
        app.state.deadlines = settings.deadlines()
        handlers.register(runtime, deadlines=app.state.deadlines)
        urgent = runtime.metrics.gauge("hulei_open_urgent_tasks", "open critical/high tasks")
        overdue = runtime.metrics.gauge("hulei_overdue_tasks", "open tasks past their due time")

        async def task_gauges() -> None:
            counts = await task_load(runtime.store, now=utcnow())
            urgent.set(counts[0])
            overdue.set(counts[1])

        runtime.metrics.on_scrape(task_gauges)

    background = []
    if settings.demo_mode and settings.demo_casework:
        background.append(
            Background[Runtime](
                "demo-casework",
                lambda runtime: demo.seed(
                    runtime,
                    notes=NoteSealer(settings.notes_key.get_secret_value()),
                    deadlines=settings.deadlines(),
                ),
            )
        )
    return service_app(
        name=NAME, settings=settings, router=router, setup=setup, background=background, store=store
    )
