"""The video patrol's use cases on a real SQLite store: a check with its findings announced in
one transaction (a hazard's rectification notice, a student's concern event), one check per
school and day, refusals that leave nothing, the day's log and the days, the desk's alert once
per day with the clock handed in, and the demo month."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from services.patrol import store as patrol_store
from services.patrol.inspections import store as inspections_store
from services.patrol.video import demo, service
from services.patrol.video import store as video_store
from services.patrol.video.domain import VideoConfig
from services.patrol.video.sweep import sweep_missing
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.inspections import NoticeStatus, RectificationIssued
from shared.contracts.video_patrol import (
    Finding,
    FindingKind,
    VideoCheckCreate,
    VideoCheckRecorded,
    VideoConcernRaised,
)
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import Conflict, InvalidField, NotAllowed
from tests.unit.units import StoreUnits, sqlite_port

ZONE = ZoneInfo("Asia/Shanghai")
CONFIG = VideoConfig(schools=("sch-01", "sch-02", "sch-03"), zone=ZONE, check_by=time(16, 0))
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # 10:00 in Beijing
DAY = date(2026, 3, 2)
OFFICER = Principal(user_id="officer7", role=Role.police_officer, school_ids=())
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="patrol", migrations=patrol_store.MIGRATIONS)
    for migration in (*inspections_store.MIGRATIONS, *video_store.MIGRATIONS):
        await migration.step(opened)
    yield opened
    await opened.close()


def check(school: str, *findings: Finding, day: date | None = None) -> VideoCheckCreate:
    return VideoCheckCreate(school_id=school, day=day, findings=list(findings))


async def test_findings_become_a_notice_and_a_concern_in_the_checks_transaction(
    port: Store,
) -> None:
    rt = StoreUnits(port)
    hazard = Finding(kind=FindingKind.hazard, note="Fire exit chained", deadline_days=3)
    at_risk = Finding(kind=FindingKind.student_at_risk, note="A boy crying alone by the wall")
    done = await service.record_check(
        rt, caller=OFFICER, body=check("sch-02", hazard, at_risk), config=CONFIG, now=T0
    )
    assert done.day == DAY
    [notice_finding, concern_finding] = done.findings
    notice = await inspections_store.get_notice(port, notice_id=str(notice_finding.notice_id))
    assert notice is not None
    assert (notice.school_id, notice.item, notice.status) == (
        "sch-02",
        "video_hazard",
        NoticeStatus.open,
    )
    assert notice.deadline == T0 + timedelta(days=3)
    types = [e.type for e in rt.events]
    assert types.count(RectificationIssued.TYPE) == 1
    assert types.count(VideoCheckRecorded.TYPE) == 1
    [raised] = [e.parse(VideoConcernRaised) for e in rt.events if e.type == VideoConcernRaised.TYPE]
    assert (raised.report_id, raised.school_id, raised.category.value) == (
        concern_finding.report_id,
        "sch-02",
        "psychological_distress",
    )
    [figures], _ = await inspections_store.figures(port, schools=None, limit=10, after=None)
    assert (figures["items_failed"], figures["notices_open"]) == (1, 1)


async def test_one_check_per_school_and_day_and_refusals_leave_nothing(port: Store) -> None:
    rt = StoreUnits(port)
    await service.record_check(rt, caller=OFFICER, body=check("sch-01"), config=CONFIG, now=T0)
    hazard = Finding(kind=FindingKind.hazard, note="again")
    with pytest.raises(Conflict):
        await service.record_check(
            rt, caller=OFFICER, body=check("sch-01", hazard), config=CONFIG, now=T0
        )
    assert await inspections_store.open_past(port, now=T0 + timedelta(days=99)) == ([], None)
    refusals = [
        (check("sch-99"), "school_id"),
        (check("sch-02", day=DAY + timedelta(days=1)), "day"),
        (check("sch-02", Finding(kind=FindingKind.other, note="x", deadline_days=2)), "findings"),
    ]
    for body, field in refusals:
        with pytest.raises(InvalidField) as refused:
            await service.record_check(rt, caller=OFFICER, body=body, config=CONFIG, now=T0)
        assert refused.value.loc[-1] == field
    with pytest.raises(NotAllowed):
        await service.record_check(rt, caller=DESK, body=check("sch-02"), config=CONFIG, now=T0)
    log = await service.day_log(port, caller=DESK, day=DAY, config=CONFIG)
    assert ([c.school_id for c in log.checked], log.missing) == (["sch-01"], ["sch-02", "sch-03"])
    assert len(rt.events) == 1  # the one check's


async def test_the_desk_is_told_of_unchecked_schools_once_after_the_time(port: Store) -> None:
    rt = StoreUnits(port)
    await service.record_check(rt, caller=OFFICER, body=check("sch-02"), config=CONFIG, now=T0)
    before = datetime(2026, 3, 2, 7, 59, tzinfo=UTC)
    assert await sweep_missing(rt, config=CONFIG, now=before) is None
    after = datetime(2026, 3, 2, 8, 5, tzinfo=UTC)
    assert await sweep_missing(rt, config=CONFIG, now=after) == DAY
    assert await sweep_missing(rt, config=CONFIG, now=after + timedelta(hours=1)) is None
    [alert] = [e.parse(PatrolAlertRaised) for e in rt.events if e.type == PatrolAlertRaised.TYPE]
    assert alert.recipients == ("role:dispatcher",)
    assert alert.alert_id == "video_missing-2026-03-02"
    assert "sch-01, sch-03" in alert.title
    assert "sch-02" not in alert.title
    [day] = (
        await service.days(
            port, caller=DESK, start=None, end=None, config=CONFIG, limit=10, after=None
        )
    )[0]
    assert (day.checked, day.complete, day.missing_alerted_at) == (1, False, after)


async def test_a_complete_day_raises_no_alert(port: Store) -> None:
    rt = StoreUnits(port)
    for school in CONFIG.schools:
        await service.record_check(rt, caller=OFFICER, body=check(school), config=CONFIG, now=T0)
    assert await sweep_missing(rt, config=CONFIG, now=T0 + timedelta(hours=8)) is None
    assert all(e.type != PatrolAlertRaised.TYPE for e in rt.events)


async def test_days_page_newest_first_within_bounds_and_only_for_the_station(port: Store) -> None:
    rt = StoreUnits(port)
    for back in range(5):
        body = check("sch-01", day=DAY - timedelta(days=back))
        await service.record_check(rt, caller=OFFICER, body=body, config=CONFIG, now=T0)
    start, end = DAY - timedelta(days=3), DAY - timedelta(days=1)
    first, cursor = await service.days(
        port, caller=DESK, start=start, end=end, config=CONFIG, limit=2, after=None
    )
    rest, last = await service.days(
        port, caller=DESK, start=start, end=end, config=CONFIG, limit=2, after=cursor
    )
    assert [d.day for d in first + rest] == [end, end - timedelta(days=1), start]
    assert last is None
    with pytest.raises(InvalidField) as refused:
        await service.days(
            port, caller=DESK, start=end, end=start, config=CONFIG, limit=2, after=None
        )
    assert refused.value.loc == ["query", "from"]
    with pytest.raises(NotAllowed):
        await service.day_log(port, caller=TEACHER, day=DAY, config=CONFIG)


async def test_the_demo_month_is_seeded_once(port: Store) -> None:
    rt = StoreUnits(port)
    config = VideoConfig(
        schools=tuple(f"sch-{n:02d}" for n in range(1, 22)), zone=ZONE, check_by=time(16, 0)
    )
    await demo.seed(rt, config=config)
    count = len(rt.events)
    await demo.seed(rt, config=config)
    assert len(rt.events) == count
    days, _ = await service.days(
        port, caller=DESK, start=None, end=None, config=config, limit=100, after=None
    )
    assert len(days) == demo.DAYS
    assert sum(not d.complete for d in days) == len(demo.MISSED_ON)
    kinds = [e.type for e in rt.events]
    assert kinds.count(RectificationIssued.TYPE) == 2
    assert kinds.count(VideoConcernRaised.TYPE) == 1
