"""The schools' programme demo data (demo mode only): the counselling list and the term's
education events, seeded after the service is ready, so their transactions and events are not
on the start-up path; each seeds once per store (store.claim_demo_seed)."""

from __future__ import annotations

import logging

from services.school_liaison.counselling import demo as counselling_demo
from services.school_liaison.education import demo as education_demo
from services.school_liaison.privacy import Sealer
from shared.runtime import Runtime

log = logging.getLogger("hulei.school_liaison.demo")


async def seed_after_start(runtime: Runtime, *, sealer: Sealer) -> None:
    try:
        await counselling_demo.seed(runtime, sealer=sealer)
        await education_demo.seed(runtime)
    except Exception as exc:  # demo data missing is no reason to stop serving
        log.warning("seeding the demo programme failed: %r", exc)
