"""The video patrol's and the venues' store queries on SQLite and PostgreSQL (every_store):
the days' range and keyset pages, the day's checks, the once-per-day claim, the venues by area
and kind, the letters' expiry prefilter, the counts per area, inspections newest first."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from services.patrol.inspections import store as inspections_store
from services.patrol.inspections.domain import VENUE_CHECKLISTS
from services.patrol.venues import service as venues
from services.patrol.venues import store as venues_store
from services.patrol.venues.sweep import sweep_letters
from services.patrol.video import service as video
from services.patrol.video import store as video_store
from services.patrol.video.domain import VideoConfig
from services.patrol.video.sweep import sweep_missing
from shared.contracts.inspections import ChecklistKind, ItemResult
from shared.contracts.venues import Letter, VenueContact, VenueCreate, VenueInspectionCreate
from shared.contracts.video_patrol import VideoCheckCreate
from shared.identity import Principal, Role
from shared.store import Store, open_store
from shared.store.migrations import migrate
from tests.support import StoreUrl, every_store
from tests.unit.units import StoreUnits

__all__ = ["every_store"]

T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)
DAY = date(2026, 3, 2)
CONFIG = VideoConfig(
    schools=("sch-01", "sch-02", "sch-03"), zone=ZoneInfo("Asia/Shanghai"), check_by=time(16)
)
OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=())
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)


@pytest.fixture
async def patrol(store_url: StoreUrl) -> AsyncIterator[Store]:
    port = await open_store(await store_url("patrol"))
    for store in (inspections_store, video_store, venues_store):
        await migrate(port, component=store.COMPONENT, migrations=store.MIGRATIONS)
    yield port
    await port.close()


async def test_days_page_by_range_and_the_claim_holds(patrol: Store) -> None:
    rt = StoreUnits(patrol)
    for back in range(6):
        for school in CONFIG.schools[: 1 + back % 3]:
            body = VideoCheckCreate(school_id=school, day=DAY - timedelta(days=back))
            await video.record_check(rt, caller=OFFICER, body=body, config=CONFIG, now=T0)
    start, end = DAY - timedelta(days=4), DAY - timedelta(days=1)
    pages, after = [], None
    while True:
        page, after = await video.days(
            patrol, caller=DESK, start=start, end=end, config=CONFIG, limit=3, after=after
        )
        pages.append([d.day for d in page])
        if after is None:
            break
    assert pages == [[end, end - timedelta(days=1), end - timedelta(days=2)], [start]]
    log = await video.day_log(patrol, caller=DESK, day=DAY - timedelta(days=1), config=CONFIG)
    assert ([c.school_id for c in log.checked], log.missing) == (["sch-01", "sch-02"], ["sch-03"])
    late = datetime.combine(DAY, time(17), tzinfo=CONFIG.zone)
    assert await sweep_missing(rt, config=CONFIG, now=late) == DAY
    assert await sweep_missing(rt, config=CONFIG, now=late) is None


def create(area: str, kind: str = "hotel") -> VenueCreate:
    return VenueCreate(
        name=f"{kind} in {area}",
        kind=kind,
        area=area,
        address="1 Road",
        nearest_school_id="sch-01",
        distance_m=100,
        contact=VenueContact(name="Manager", phone="0351-6000"),
    )


async def test_venues_by_area_and_kind_letters_due_and_inspections(patrol: Store) -> None:
    rt = StoreUnits(patrol)
    made = [
        await venues.register(rt, caller=OFFICER, body=create(area, kind), now=T0)
        for area, kind in (("grid-a", "hotel"), ("grid-a", "entertainment"), ("grid-b", "hotel"))
    ]
    hotels_a, _ = await venues.venues(
        patrol, caller=DESK, area="grid-a", kind="hotel", limit=10, after=None
    )
    assert [v.id for v in hotels_a] == [made[0].id]
    first, after = await venues.venues(
        patrol, caller=DESK, area=None, kind=None, limit=2, after=None
    )
    rest, end = await venues.venues(patrol, caller=DESK, area=None, kind=None, limit=2, after=after)
    assert sorted(v.id for v in first + rest) == sorted(v.id for v in made)
    assert end is None
    for n, venue in enumerate(made):
        letter = Letter(
            signed_on=DAY - timedelta(days=100), expires_on=DAY + timedelta(days=10 + 30 * n)
        )
        await venues.sign_letter(rt, caller=OFFICER, venue_id=venue.id, body=letter, today=DAY)
    told = await sweep_letters(rt, today=DAY, notice=timedelta(days=45))
    assert told == [made[0].id, made[1].id]
    areas, _ = await venues.areas(patrol, caller=DESK, limit=10, after=None)
    assert [(a.area, a.venues) for a in areas] == [("grid-a", 2), ("grid-b", 1)]
    items = VENUE_CHECKLISTS[ChecklistKind(made[0].kind.value)]
    for n in range(3):
        body = VenueInspectionCreate(results=[ItemResult(item=i.code, passed=True) for i in items])
        await venues.inspect(
            rt, caller=OFFICER, venue_id=made[0].id, body=body, now=T0 + timedelta(days=n)
        )
    page, after = await venues.inspections_of(
        patrol, caller=DESK, venue_id=made[0].id, limit=2, after=None
    )
    more, _ = await venues.inspections_of(
        patrol, caller=DESK, venue_id=made[0].id, limit=2, after=after
    )
    assert [i.inspected_at for i in page + more] == [T0 + timedelta(days=n) for n in (2, 1, 0)]
