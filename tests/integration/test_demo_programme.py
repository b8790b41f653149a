"""The schools' programme demo data: seeded in the background once the services are ready,
once per store (a restart seeds nothing more), on real NATS and SQLite."""

from __future__ import annotations

from typing import Any

import pytest

from services.patrol.app import create_app as patrol_app
from services.patrol.inspections import store as inspection_store
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.app import create_app as school_app
from services.school_liaison.counselling import store as counselling_store
from services.school_liaison.education import store as education_store
from services.school_liaison.settings import Settings as SchoolSettings
from tests.support import NatsLogin, StoreUrl, eventually


@pytest.mark.usefixtures("declared")
async def test_the_demo_programme_is_seeded_after_start_and_once(
    nats_url: str, store_url: StoreUrl, nats_login: NatsLogin
) -> None:
    school = SchoolSettings(
        **nats_login("school_liaison"),
        demo_mode=True,
        nats_url=nats_url,
        store_url=await store_url("school_liaison"),
    )
    patrol = PatrolSettings(
        **nats_login("patrol"),
        demo_mode=True,
        # The inspections' demo only: video patrol and venues add notices of their own.
        demo_video=False,
        demo_venues=False,
        demo_shifts=False,
        nats_url=nats_url,
        store_url=await store_url("patrol"),
    )
    for start in range(2):  # the second start finds the seeds claimed
        apps = (school_app(school), patrol_app(patrol))
        async with (
            apps[0].router.lifespan_context(apps[0]),
            apps[1].router.lifespan_context(apps[1]),
        ):
            liaison, field = apps[0].state.runtime.store, apps[1].state.runtime.store

            seeding = (
                apps[0].state.background["demo-programme"],
                apps[1].state.background["demo-inspections"],
            )

            async def seeded(seeding: tuple[Any, ...] = seeding) -> bool:
                return all(task.done() for task in seeding)

            await eventually(seeded, within=60)
            assert await liaison.count(counselling_store.ENTRIES_C) == 12, start
            assert await liaison.count(counselling_store.SESSIONS_C) == 36, start
            assert await liaison.count(education_store.EVENTS_C) == 18, start
            assert await field.count(inspection_store.INSPECTIONS_C) == 21, start
            assert await field.count(inspection_store.NOTICES_C) == 2, start
