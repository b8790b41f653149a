"""patrol: composition root."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

from fastapi import FastAPI

from services.patrol import handlers
from services.patrol.api import router
from services.patrol.figures import projection as figures_projection
from services.patrol.inspections import demo as inspections_demo
from services.patrol.inspections import store as inspections_store
from services.patrol.inspections import sweep
from services.patrol.settings import Settings
from services.patrol.shifts import demo as shifts_demo
from services.patrol.shifts import store as shifts_store
from services.patrol.shifts import sweep as posts_sweep
from services.patrol.store import MIGRATIONS
from services.patrol.venues import demo as venues_demo
from services.patrol.venues import store as venues_store
from services.patrol.venues import sweep as letters_sweep
from services.patrol.video import demo as video_demo
from services.patrol.video import store as video_store
from services.patrol.video import sweep as video_sweep
from services.patrol.video.domain import VideoConfig
from shared.app import Background
from shared.runtime import Runtime
from shared.store import Store
from shared.store.migrations import migrate
from shared.web import service_app

NAME = "patrol"


def create_app(settings: Settings | None = None, *, store: Store | None = None) -> FastAPI:
    settings = settings or Settings()
    video = VideoConfig(
        schools=settings.video_schools,
        zone=ZoneInfo(settings.station_zone),
        check_by=settings.video_check_by,
    )

    async def setup(app: FastAPI, runtime: Runtime) -> None:
        app.state.video_config = video
        app.state.zone = video.zone
        await migrate(runtime.store, component=NAME, migrations=MIGRATIONS)
        await migrate(
            runtime.store,
            component=inspections_store.COMPONENT,
            migrations=inspections_store.MIGRATIONS,
        )
        await migrate(
            runtime.store, component=video_store.COMPONENT, migrations=video_store.MIGRATIONS
        )
        if settings.demo_mode and settings.demo_video:
            await video_demo.seed(runtime, config=video)
        await migrate(
            runtime.store, component=venues_store.COMPONENT, migrations=venues_store.MIGRATIONS
        )
        if settings.demo_mode and settings.demo_venues:
            await venues_demo.seed(runtime)
        await migrate(
            runtime.store, component=shifts_store.COMPONENT, migrations=shifts_store.MIGRATIONS
        )
        if settings.demo_mode and settings.demo_shifts:
            await shifts_demo.seed(runtime, zone=video.zone)
        await migrate(
            runtime.store,
            component=figures_projection.COMPONENT,
            migrations=figures_projection.MIGRATIONS,
        )
        handlers.register(runtime)

    overdue = Background[Runtime](
        "rectification-sweep",
        lambda runtime: sweep.sweep_periodically(
            runtime, interval_s=settings.rectification_sweep_s
        ),
    )
    unchecked = Background[Runtime](
        "video-patrol-sweep",
        lambda runtime: video_sweep.sweep_periodically(
            runtime, config=video, interval_s=settings.video_sweep_s
        ),
    )
    letters = Background[Runtime](
        "letter-sweep",
        lambda runtime: letters_sweep.sweep_periodically(
            runtime,
            zone=video.zone,
            notice=timedelta(days=settings.letter_notice_days),
            interval_s=settings.letter_sweep_s,
        ),
    )
    posts = Background[Runtime](
        "post-sweep",
        lambda runtime: posts_sweep.sweep_periodically(
            runtime,
            grace=timedelta(minutes=settings.post_grace_min),
            interval_s=settings.post_sweep_s,
        ),
    )
    background = [overdue, unchecked, letters, posts]
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
