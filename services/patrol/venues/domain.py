"""Pure rules of venue supervision: who registers, reads and inspects, who changes a venue's
status, a letter's dates, and when an expiring letter is told. Clock handed in. (Each venue
kind's checklist is data, with the schools': services/patrol/inspections.)"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from pydantic import BaseModel

from shared.contracts.venues import Letter, VenueContact, VenueKind, VenueStatus
from shared.events import Timestamp
from shared.identity import Principal, Role

REGISTRARS = (Role.police_officer, Role.supervisor)
READERS = (Role.police_officer, Role.dispatcher, Role.supervisor)


class Venue(BaseModel):
    id: str
    name: str
    kind: VenueKind
    area: str
    address: str
    nearest_school_id: str
    distance_m: int
    contact: VenueContact
    status: VenueStatus
    officer_id: str
    letter: Letter | None = None
    letter_expires_on: str | None = None  # the letter's expiry, indexed for the sweep
    letter_alerted_for: str | None = None  # the claim: the expiry already told
    registered_at: Timestamp
    status_reason: str | None = None
    status_changed_at: Timestamp | None = None


class Refusal(Exception):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def may_change(principal: Principal, venue: Venue) -> bool:
    """Its officer in charge, or the supervisor (letters)."""
    return principal.role is Role.supervisor or (
        principal.role is Role.police_officer and principal.user_id == venue.officer_id
    )


# The moves a venue's status may make; closed is final (a venue that reopens is registered anew).
MOVES = {
    VenueStatus.active: {VenueStatus.suspended, VenueStatus.closed},
    VenueStatus.suspended: {VenueStatus.active, VenueStatus.closed},
    VenueStatus.closed: set(),
}


class IllegalMove(Exception):
    """Not possible from the venue's current status (a 409 naming it)."""


def change_status(venue: Venue, *, to: VenueStatus, reason: str, now: datetime) -> Venue:
    if to not in MOVES[venue.status]:
        raise IllegalMove(f"the venue is {venue.status.value}: it cannot become {to.value}")
    return venue.model_copy(
        update={"status": to, "status_reason": reason, "status_changed_at": now}
    )


def may_inspect(principal: Principal, venue: Venue) -> bool:
    return principal.role is Role.police_officer and principal.user_id == venue.officer_id


def check_letter(letter: Letter, *, today: date) -> None:
    if letter.signed_on > today:
        raise Refusal("a letter cannot be signed in the future", field="signed_on")
    if letter.expires_on <= letter.signed_on:
        raise Refusal("must be after signed_on", field="expires_on")


def letter_needs_alert(venue: Venue, *, today: date, notice: timedelta) -> bool:
    """Expiring within `notice` (or expired) and not told for this expiry yet."""
    if venue.letter is None or venue.status is VenueStatus.closed:
        return False
    due = venue.letter.expires_on - notice <= today
    return due and venue.letter_alerted_for != venue.letter.expires_on.isoformat()
