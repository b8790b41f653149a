"""Demo video patrol for `make run` (demo mode only): the four weeks before today, every
school checked on most days, two schools missed on three days, and a few findings (two
hazards, one student at risk, some others)."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from services.patrol.video import service, store
from services.patrol.video.domain import VideoConfig, local_day
from shared.contracts.video_patrol import Finding, FindingKind, VideoCheckCreate
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.usecases import Transactor

DAYS = 28
OFFICER = Principal(user_id="officer7", role=Role.police_officer, school_ids=())
MISSED_ON = {5: ("sch-20", "sch-21"), 12: ("sch-20", "sch-21"), 19: ("sch-08", "sch-09")}
FINDINGS = {
    (3, "sch-05"): Finding(kind=FindingKind.hazard, note="Side gate left open during class"),
    (9, "sch-14"): Finding(kind=FindingKind.other, note="Camera 3 image blurred"),
    (15, "sch-17"): Finding(kind=FindingKind.hazard, note="Bicycles blocking the fire exit"),
    (21, "sch-02"): Finding(
        kind=FindingKind.student_at_risk,
        note="A student sat alone on the roof terrace edge for twenty minutes at 12:10",
    ),
    (24, "sch-11"): Finding(kind=FindingKind.other, note="Unknown adult waiting at the gate"),
}


async def seed(rt: Transactor, *, config: VideoConfig) -> None:
    """Once: a store with video-patrol days already is left as it is."""
    found, _ = await store.days(rt.store, start=None, end=None, limit=1, after=None)
    if found:
        return
    today = local_day(utcnow(), config.zone)
    for back in range(DAYS, 0, -1):
        day = today - timedelta(days=back)
        start = datetime.combine(day, time(9, 0), tzinfo=config.zone)
        for n, school in enumerate(config.schools):
            if school in MISSED_ON.get(back, ()):
                continue
            finding = FINDINGS.get((back, school))
            body = VideoCheckCreate(
                school_id=school, day=day, findings=[finding] if finding else []
            )
            at = start + timedelta(minutes=12 * n)
            await service.record_check(rt, caller=OFFICER, body=body, config=config, now=at)
