"""Venue supervision's use cases: registration, the responsibility letter, an inspection whose
failed items become rectification notices (the inspections' mechanism), the views, the count
per grid area, and the expiring-letter alert."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from services.patrol.inspections import domain as inspections_domain
from services.patrol.inspections import service as inspections
from services.patrol.inspections import store as checklists
from services.patrol.venues import domain, store
from services.patrol.venues.domain import Venue
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.inspections import ChecklistKind
from shared.contracts.notifications import user_inbox
from shared.contracts.venues import (
    AreaVenues,
    Letter,
    VenueCreate,
    VenueInspected,
    VenueInspectionCreate,
    VenueInspectionView,
    VenueLetterSigned,
    VenueRegistered,
    VenueStatus,
    VenueStatusChange,
    VenueStatusChanged,
    VenueView,
)
from shared.events import new_id, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "patrol"


def view(venue: Venue) -> VenueView:
    return VenueView.model_validate(venue.model_dump())


def _may_read(caller: Principal) -> None:
    if caller.role not in domain.READERS:
        raise NotAllowed("the station's officers, desk and supervisor supervise venues")


async def _venue(port: Reader, venue_id: str) -> Venue:
    venue = await store.get_venue(port, venue_id=venue_id)
    if venue is None:
        raise NotFound("venue not found")
    return venue


async def register(
    rt: Transactor, *, caller: Principal, body: VenueCreate, now: datetime | None = None
) -> Venue:
    if caller.role not in domain.REGISTRARS:
        raise NotAllowed("officers and the supervisor register venues")
    at = now or utcnow()
    venue = Venue(
        id="ven-" + new_id(),
        **body.model_dump(exclude={"officer_id"}),
        officer_id=body.officer_id or caller.user_id,
        registered_at=at,
    )

    async def work(uow: UnitOfWork) -> Venue:
        await store.put_venue(uow.tx, venue=venue)
        if venue.status is VenueStatus.active:
            await store.add_to_area(uow.tx, area=venue.area, delta=1)
        event = VenueRegistered(
            venue_id=venue.id, kind=venue.kind, area=venue.area, registered_at=at
        )
        uow.announce(event, source=SOURCE, subject=venue.id, correlation_id=venue.id)
        return venue

    return await rt.transact(work)


async def sign_letter(
    rt: Transactor, *, caller: Principal, venue_id: str, body: Letter, today: date
) -> Venue:
    try:
        domain.check_letter(body, today=today)
    except domain.Refusal as exc:
        raise InvalidField("body", exc.field, str(exc)) from exc

    async def work(uow: UnitOfWork) -> Venue:
        venue = await _venue(uow.tx, venue_id)
        if not domain.may_change(caller, venue):
            raise NotAllowed("the venue's officer in charge or the supervisor")
        signed = venue.model_copy(
            update={
                "letter": body,
                "letter_expires_on": body.expires_on.isoformat(),
                "letter_alerted_for": None,
            }
        )
        await store.put_venue(uow.tx, venue=signed)
        event = VenueLetterSigned(
            venue_id=venue.id, kind=venue.kind, signed_on=body.signed_on, expires_on=body.expires_on
        )
        uow.announce(event, source=SOURCE, subject=venue.id, correlation_id=venue.id)
        return signed

    return await rt.transact(work)


async def change_status(
    rt: Transactor,
    *,
    caller: Principal,
    venue_id: str,
    body: VenueStatusChange,
    now: datetime | None = None,
) -> Venue:
    """Its officer in charge or the supervisor; the area's count of active venues (the patrol
    plan's weight) follows in the same transaction, and the event tells the projections."""
    at = now or utcnow()

    async def work(uow: UnitOfWork) -> Venue:
        venue = await _venue(uow.tx, venue_id)
        if not domain.may_change(caller, venue):
            raise NotAllowed("the venue's officer in charge or the supervisor")
        try:
            changed = domain.change_status(venue, to=body.status, reason=body.reason, now=at)
        except domain.IllegalMove as exc:
            raise Conflict(str(exc)) from exc
        await store.put_venue(uow.tx, venue=changed)
        was_active = venue.status is VenueStatus.active
        if was_active != (changed.status is VenueStatus.active):
            await store.add_to_area(uow.tx, area=venue.area, delta=-1 if was_active else 1)
        event = VenueStatusChanged(
            venue_id=venue.id,
            kind=venue.kind,
            area=venue.area,
            previous=venue.status,
            status=changed.status,
            by=caller.user_id,
            at=at,
        )
        uow.announce(event, source=SOURCE, subject=venue.id, correlation_id=venue.id)
        return changed

    return await rt.transact(work)


async def inspect(
    rt: Transactor,
    *,
    caller: Principal,
    venue_id: str,
    body: VenueInspectionCreate,
    now: datetime | None = None,
) -> VenueInspectionView:
    """The inspection and a notice per failed item (due by the item's days), one transaction."""
    at = now or utcnow()

    async def work(uow: UnitOfWork) -> VenueInspectionView:
        venue = await _venue(uow.tx, venue_id)
        if not domain.may_inspect(caller, venue):
            raise NotAllowed("the venue's officer in charge inspects it")
        checklist = await checklists.checklist(uow.tx, kind=ChecklistKind(venue.kind.value))
        try:
            inspections_domain.check_results(body.results, checklist)
        except inspections_domain.Refusal as exc:
            raise InvalidField("body", exc.field or "results", str(exc)) from exc
        inspection_id = "vinsp-" + new_id()
        items = {i.code: i for i in checklist}
        notice_ids = []
        for result in body.results:
            if result.passed:
                continue
            item = items[result.item]
            notice = await inspections.issue_notice(
                uow,
                school_id=venue.id,
                venue_id=venue.id,
                source_id=inspection_id,
                item=item.code,
                label=f"{venue.name}: {item.label}",
                officer_id=caller.user_id,
                deadline_days=item.deadline_days,
                at=at,
            )
            notice_ids.append(notice.id)
        inspection = VenueInspectionView(
            id=inspection_id,
            venue_id=venue.id,
            kind=venue.kind,
            officer_id=caller.user_id,
            inspected_at=at,
            results=body.results,
            notice_ids=notice_ids,
        )
        await store.put_inspection(uow.tx, inspection=inspection)
        event = VenueInspected(
            inspection_id=inspection_id,
            venue_id=venue.id,
            kind=venue.kind,
            officer_id=caller.user_id,
            failed_items=tuple(r.item for r in body.results if not r.passed),
            inspected_at=at,
        )
        uow.announce(event, source=SOURCE, subject=venue.id, correlation_id=inspection_id)
        return inspection

    return await rt.transact(work)


# --- reads ------------------------------------------------------------------------------------


async def venues(
    port: Reader,
    *,
    caller: Principal,
    area: str | None,
    kind: str | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Venue], Cursor | None]:
    _may_read(caller)
    return await store.venues(port, area=area, kind=kind, limit=limit, after=after)


async def venue(port: Reader, *, caller: Principal, venue_id: str) -> Venue:
    _may_read(caller)
    return await _venue(port, venue_id)


async def inspections_of(
    port: Reader, *, caller: Principal, venue_id: str, limit: int, after: Cursor | None
) -> tuple[list[VenueInspectionView], Cursor | None]:
    _may_read(caller)
    await _venue(port, venue_id)
    return await store.inspections(port, venue_id=venue_id, limit=limit, after=after)


async def areas(
    port: Reader, *, caller: Principal, limit: int, after: Cursor | None
) -> tuple[list[AreaVenues], Cursor | None]:
    _may_read(caller)
    docs, cursor = await store.areas(port, limit=limit, after=after)
    return [AreaVenues(area=d["area"], venues=d["venues"]) for d in docs], cursor


# --- the expiring letter ----------------------------------------------------------------------


async def claim_letter_alert(
    uow: UnitOfWork, *, venue_id: str, today: date, notice: timedelta
) -> bool:
    """Tell the officer in charge once per expiry: the claim is written with the alert."""
    venue = await store.get_venue(uow.tx, venue_id=venue_id)
    if venue is None or venue.letter is None:
        return False
    if not domain.letter_needs_alert(venue, today=today, notice=notice):
        return False
    expires = venue.letter.expires_on
    await store.put_venue(
        uow.tx, venue=venue.model_copy(update={"letter_alerted_for": expires.isoformat()})
    )
    raised = PatrolAlertRaised(
        alert_id=f"letter_expiring-{venue.id}-{expires.isoformat()}",
        kind="letter_expiring",
        recipients=(user_inbox(venue.officer_id),),
        title=f"Responsibility letter of {venue.name} ({venue.area}) expires {expires}",
        school_id=venue.nearest_school_id,
    )
    uow.announce(raised, source=SOURCE, subject=venue.id, correlation_id=venue.id)
    return True
