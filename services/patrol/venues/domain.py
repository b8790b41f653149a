"""Pure rules of venue supervision: who registers, reads and inspects, the checklist of each
venue kind, a letter's dates, and when an expiring letter is told. Clock handed in."""

from __future__ import annotations

from datetime import date, timedelta

from pydantic import BaseModel

from shared.contracts.inspections import ChecklistItem
from shared.contracts.venues import Letter, VenueContact, VenueKind, VenueStatus
from shared.events import Timestamp
from shared.identity import Principal, Role

REGISTRARS = (Role.police_officer, Role.supervisor)
READERS = (Role.police_officer, Role.dispatcher, Role.supervisor)

_SIGNS = ChecklistItem(
    code="signs_drugs_gambling_prostitution",
    label="Signs banning drugs, gambling and prostitution displayed",
    deadline_days=7,
)
_FIRE = ChecklistItem(
    code="fire_safety", label="Fire safety: exits, extinguishers", deadline_days=14
)
# Hotels' five mandatory checks when a minor checks in (五必须).
_HOTEL = (
    ChecklistItem(code="minor_id_checked", label="A minor's identity checked", deadline_days=3),
    ChecklistItem(
        code="minor_companions_asked",
        label="A minor's companions and their relation asked",
        deadline_days=3,
    ),
    ChecklistItem(
        code="minor_guardian_contacted", label="A minor's guardian contacted", deadline_days=3
    ),
    ChecklistItem(
        code="minor_rounds_kept", label="Safety rounds while a minor stays", deadline_days=3
    ),
    ChecklistItem(
        code="minor_police_reported",
        label="Suspected harm to a minor reported to the police at once",
        deadline_days=3,
    ),
)
CHECKLISTS: dict[VenueKind, tuple[ChecklistItem, ...]] = {
    VenueKind.hotel: (*_HOTEL, _SIGNS, _FIRE),
    VenueKind.entertainment: (
        ChecklistItem(
            code="minors_not_admitted", label="Minors refused entry, sign shown", deadline_days=3
        ),
        _SIGNS,
        _FIRE,
    ),
    VenueKind.short_term_rental: (
        ChecklistItem(
            code="guests_registered", label="Every guest registered by ID", deadline_days=3
        ),
        _SIGNS,
        _FIRE,
    ),
}


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


class Refusal(Exception):
    def __init__(self, message: str, *, field: str) -> None:
        super().__init__(message)
        self.field = field


def may_change(principal: Principal, venue: Venue) -> bool:
    """Its officer in charge, or the supervisor (letters)."""
    return principal.role is Role.supervisor or (
        principal.role is Role.police_officer and principal.user_id == venue.officer_id
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
