"""Venue supervision on a real SQLite store, clock handed in: the checklist per kind, the
registry and its count per area, a failed item's rectification notice (the inspections'
mechanism: re-inspected by the officer in charge, overdue to the officer and the desk), the
letter's dates and its expiry alert once per expiry, refusals that leave nothing, the demo."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from services.patrol import store as patrol_store
from services.patrol.inspections import service as inspections
from services.patrol.inspections import store as inspections_store
from services.patrol.inspections.domain import VENUE_CHECKLISTS
from services.patrol.venues import demo, domain, service
from services.patrol.venues import store as venues_store
from services.patrol.venues.sweep import sweep_letters
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.inspections import ChecklistKind, ItemResult, NoticeStatus, Reinspection
from shared.contracts.venues import (
    Letter,
    VenueContact,
    VenueCreate,
    VenueInspectionCreate,
    VenueKind,
    VenueStatus,
)
from shared.identity import Principal, Role
from shared.store import Store
from shared.usecases import InvalidField, NotAllowed, NotFound
from tests.unit.units import StoreUnits, sqlite_port, unit_of_work

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
TODAY = date(2026, 3, 2)
OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=("sch-04",))
OTHER = Principal(user_id="officer5", role=Role.police_officer, school_ids=("sch-13",))
DESK = Principal(user_id="dispatcher1", role=Role.dispatcher)
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
NOTICE = timedelta(days=30)


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[Store]:
    opened = await sqlite_port(tmp_path, component="patrol", migrations=patrol_store.MIGRATIONS)
    for migration in (*inspections_store.MIGRATIONS, *venues_store.MIGRATIONS):
        await migration.step(opened)
    yield opened
    await opened.close()


def venue(kind: VenueKind = VenueKind.hotel, area: str = "grid-oldtown") -> VenueCreate:
    return VenueCreate(
        name="Riverside Hotel",
        kind=kind,
        area=area,
        address="3 River Road",
        nearest_school_id="sch-04",
        distance_m=380,
        contact=VenueContact(name="Ms Manager", phone="0351-6000"),
    )


def results(kind: VenueKind, *failed: str) -> VenueInspectionCreate:
    items = VENUE_CHECKLISTS[ChecklistKind(kind.value)]
    return VenueInspectionCreate(
        results=[ItemResult(item=i.code, passed=i.code not in failed) for i in items]
    )


def test_each_kind_has_signs_and_fire_safety_and_hotels_the_five_checks() -> None:
    for items in VENUE_CHECKLISTS.values():
        codes = {i.code for i in items}
        assert {"signs_drugs_gambling_prostitution", "fire_safety"} <= codes
    hotel = [i.code for i in VENUE_CHECKLISTS[ChecklistKind.hotel]]
    assert len([c for c in hotel if c.startswith("minor_")]) == 5


def test_letter_dates_and_when_its_officer_is_told() -> None:
    with pytest.raises(domain.Refusal) as refused:
        domain.check_letter(Letter(signed_on=TODAY, expires_on=TODAY), today=TODAY)
    assert refused.value.field == "expires_on"
    later = TODAY + timedelta(days=1)
    with pytest.raises(domain.Refusal) as refused:
        domain.check_letter(
            Letter(signed_on=later, expires_on=later + timedelta(days=9)), today=TODAY
        )
    assert refused.value.field == "signed_on"


async def test_the_registry_counts_active_venues_per_area(port: Store) -> None:
    rt = StoreUnits(port)
    for area in ("grid-a", "grid-a", "grid-b"):
        await service.register(rt, caller=OFFICER, body=venue(area=area), now=T0)
    closed = venue(area="grid-b").model_copy(update={"status": VenueStatus.closed})
    await service.register(rt, caller=SUPERVISOR, body=closed, now=T0)
    areas, _ = await service.areas(port, caller=DESK, limit=10, after=None)
    assert [(a.area, a.venues) for a in areas] == [("grid-a", 2), ("grid-b", 1)]
    found, _ = await service.venues(
        port, caller=DESK, area="grid-b", kind=None, limit=10, after=None
    )
    assert len(found) == 2
    with pytest.raises(NotAllowed):
        await service.register(rt, caller=DESK, body=venue(), now=T0)
    with pytest.raises(NotAllowed):
        await service.venues(port, caller=TEACHER, area=None, kind=None, limit=10, after=None)


async def test_a_failed_item_is_a_notice_the_officer_in_charge_reinspects(port: Store) -> None:
    rt = StoreUnits(port)
    hotel = await service.register(rt, caller=OFFICER, body=venue(), now=T0)
    done = await service.inspect(
        rt, caller=OFFICER, venue_id=hotel.id, body=results(VenueKind.hotel, "fire_safety"), now=T0
    )
    [notice_id] = done.notice_ids
    notice = await inspections_store.get_notice(port, notice_id=notice_id)
    assert notice is not None
    assert (notice.venue_id, notice.school_id, notice.item) == (hotel.id, hotel.id, "fire_safety")
    assert notice.deadline == T0 + timedelta(days=14)
    assert not [e for e in rt.events if e.type == PatrolAlertRaised.TYPE]  # no school is told
    figures, _ = await inspections_store.figures(port, schools=None, limit=10, after=None)
    assert figures == []  # a venue is not a school's figure
    with pytest.raises(NotFound):  # another officer's venue notice is not theirs to see
        await inspections.reinspect(
            rt, caller=OTHER, notice_id=notice_id, body=Reinspection(passed=True)
        )
    closed = await inspections.reinspect(
        rt, caller=OFFICER, notice_id=notice_id, body=Reinspection(passed=True)
    )
    assert closed.status is NoticeStatus.closed


async def test_an_overdue_venue_notice_alerts_its_officer_and_the_desk(port: Store) -> None:
    rt = StoreUnits(port)
    hotel = await service.register(rt, caller=OFFICER, body=venue(), now=T0)
    done = await service.inspect(
        rt,
        caller=OFFICER,
        venue_id=hotel.id,
        body=results(VenueKind.hotel, "minor_id_checked"),
        now=T0,
    )
    async with unit_of_work(port) as uow:
        late = T0 + timedelta(days=4)
        assert await inspections.claim_overdue(uow, notice_id=done.notice_ids[0], now=late)
    [alert] = [e.parse(PatrolAlertRaised) for e in uow.events]
    assert alert.recipients == ("user:officer2", "role:dispatcher")


async def test_refusals_leave_nothing(port: Store) -> None:
    rt = StoreUnits(port)
    hotel = await service.register(rt, caller=OFFICER, body=venue(), now=T0)
    before = len(rt.events)
    wrong = results(VenueKind.entertainment)  # another kind's checklist
    with pytest.raises(InvalidField) as refused:
        await service.inspect(rt, caller=OFFICER, venue_id=hotel.id, body=wrong, now=T0)
    assert refused.value.loc == ["body", "results"]
    with pytest.raises(NotAllowed):
        await service.inspect(
            rt, caller=OTHER, venue_id=hotel.id, body=results(VenueKind.hotel), now=T0
        )
    with pytest.raises(NotFound):
        await service.inspect(rt, caller=OFFICER, venue_id="ven-x", body=wrong, now=T0)
    assert len(rt.events) == before
    assert await service.inspections_of(
        port, caller=DESK, venue_id=hotel.id, limit=5, after=None
    ) == ([], None)


async def test_an_expiring_letter_tells_its_officer_once_per_expiry(port: Store) -> None:
    rt = StoreUnits(port)
    hotel = await service.register(rt, caller=OFFICER, body=venue(), now=T0)
    other = await service.register(rt, caller=OFFICER, body=venue(), now=T0)
    expires = TODAY + timedelta(days=40)
    letter = Letter(signed_on=TODAY - timedelta(days=300), expires_on=expires)
    await service.sign_letter(rt, caller=OFFICER, venue_id=hotel.id, body=letter, today=TODAY)
    far = Letter(signed_on=TODAY, expires_on=TODAY + timedelta(days=365))
    await service.sign_letter(rt, caller=SUPERVISOR, venue_id=other.id, body=far, today=TODAY)
    assert await sweep_letters(rt, today=TODAY, notice=NOTICE) == []
    near = expires - NOTICE
    assert await sweep_letters(rt, today=near, notice=NOTICE) == [hotel.id]
    assert await sweep_letters(rt, today=near + timedelta(days=5), notice=NOTICE) == []
    [alert] = [e.parse(PatrolAlertRaised) for e in rt.events if e.type == PatrolAlertRaised.TYPE]
    assert (alert.kind, alert.recipients) == ("letter_expiring", ("user:officer2",))
    renewed = Letter(signed_on=near, expires_on=near + timedelta(days=20))
    await service.sign_letter(rt, caller=OFFICER, venue_id=hotel.id, body=renewed, today=near)
    assert await sweep_letters(rt, today=near, notice=NOTICE) == [hotel.id]  # a new expiry
    with pytest.raises(NotAllowed):
        await service.sign_letter(rt, caller=OTHER, venue_id=hotel.id, body=far, today=TODAY)


async def test_the_demo_has_two_fire_hazards_one_still_open(port: Store) -> None:
    rt = StoreUnits(port)
    await demo.seed(rt)
    count = len(rt.events)
    await demo.seed(rt)
    assert len(rt.events) == count
    notices, _ = await inspections_store.notices(
        port, schools=None, status=None, limit=50, after=None
    )
    assert sorted((n.item, n.status.value) for n in notices) == [
        ("fire_safety", "closed"),
        ("fire_safety", "open"),
    ]
    areas, _ = await service.areas(port, caller=DESK, limit=10, after=None)
    assert max(areas, key=lambda a: a.venues).area == "grid-oldtown"


def test_a_venues_status_moves_and_closed_is_final() -> None:
    venue = domain.Venue(
        id="ven-1",
        name="Hotel",
        kind=VenueKind.hotel,
        area="grid-a",
        address="1 Road",
        nearest_school_id="sch-01",
        distance_m=100,
        contact=VenueContact(name="M", phone="0351"),
        status=VenueStatus.active,
        officer_id="officer1",
        registered_at=datetime(2026, 1, 1, tzinfo=UTC),
    )
    now = datetime(2026, 3, 2, tzinfo=UTC)
    suspended = domain.change_status(venue, to=VenueStatus.suspended, reason="Fire", now=now)
    assert (suspended.status, suspended.status_reason) == (VenueStatus.suspended, "Fire")
    with pytest.raises(domain.IllegalMove):
        domain.change_status(suspended, to=VenueStatus.suspended, reason="again", now=now)
    closed = domain.change_status(suspended, to=VenueStatus.closed, reason="Gone", now=now)
    for to in VenueStatus:
        with pytest.raises(domain.IllegalMove):
            domain.change_status(closed, to=to, reason="back", now=now)
