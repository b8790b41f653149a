"""Demo venues for `make run` (demo mode only): a dozen venues in four grid areas (most in
the old town, where patrols are weighted), letters signed (one expiring within the month), and
this year's round of inspections with two fire hazards (one fixed and closed, one still open)."""

from __future__ import annotations

from datetime import timedelta

from services.patrol.inspections import service as inspections
from services.patrol.inspections import store as checklists
from services.patrol.venues import service, store
from shared.contracts.inspections import ChecklistKind, ItemResult, Reinspection
from shared.contracts.venues import Letter, VenueContact, VenueCreate, VenueInspectionCreate
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.usecases import Transactor

OFFICER = Principal(user_id="officer2", role=Role.police_officer, school_ids=())
# name, kind, area, nearest school, metres
VENUES = (
    ("Golden Voice KTV", "entertainment", "grid-oldtown", "sch-04", 420),
    ("Starlight Internet Bar", "entertainment", "grid-oldtown", "sch-05", 260),
    ("Night Owl Billiards", "entertainment", "grid-oldtown", "sch-06", 510),
    ("Riverside Hotel", "hotel", "grid-oldtown", "sch-04", 380),
    ("Xijie Express Inn", "hotel", "grid-oldtown", "sch-07", 640),
    ("Lotus Apartments (rental)", "short_term_rental", "grid-oldtown", "sch-05", 300),
    ("Station Road Hotel", "hotel", "grid-station", "sch-12", 700),
    ("Railway Guesthouse", "short_term_rental", "grid-station", "sch-13", 450),
    ("Dragon Game Hall", "entertainment", "grid-station", "sch-12", 820),
    ("Parkview Hotel", "hotel", "grid-park", "sch-16", 900),
    ("Willow Homestay", "short_term_rental", "grid-park", "sch-17", 560),
    ("New Town Karaoke", "entertainment", "grid-newtown", "sch-20", 1200),
)
FIRE_HAZARDS = ("Golden Voice KTV", "Riverside Hotel")  # the year's two


async def seed(rt: Transactor) -> None:
    """Once: a store with venues already is left as it is."""
    found, _ = await store.venues(rt.store, area=None, kind=None, limit=1, after=None)
    if found:
        return
    now = utcnow()
    today = now.date()
    for n, (name, kind, area, school, metres) in enumerate(VENUES):
        body = VenueCreate(
            name=name,
            kind=kind,
            area=area,
            address=f"{10 + n} {area.removeprefix('grid-').title()} Street",
            nearest_school_id=school,
            distance_m=metres,
            contact=VenueContact(name=f"Manager of {name}", phone=f"0351-60{n:05d}"),
        )
        venue = await service.register(rt, caller=OFFICER, body=body, now=now - timedelta(days=200))
        signed = today - timedelta(days=180)
        expires = today + timedelta(days=20) if n == 1 else signed + timedelta(days=3 * 365)
        await service.sign_letter(
            rt,
            caller=OFFICER,
            venue_id=venue.id,
            body=Letter(signed_on=signed, expires_on=expires),
            today=today,
        )
        failed = "fire_safety" if name in FIRE_HAZARDS else None
        items = await checklists.checklist(rt.store, kind=ChecklistKind(venue.kind.value))
        results = [ItemResult(item=i.code, passed=i.code != failed) for i in items]
        at = now - timedelta(days=60 - 3 * n)
        done = await service.inspect(
            rt,
            caller=OFFICER,
            venue_id=venue.id,
            body=VenueInspectionCreate(results=results),
            now=at,
        )
        if name == FIRE_HAZARDS[0]:  # fixed and re-inspected; the other is still open
            await inspections.reinspect(
                rt,
                caller=OFFICER,
                notice_id=done.notice_ids[0],
                body=Reinspection(passed=True, note="New extinguishers, exits cleared"),
                now=at + timedelta(days=10),
            )
