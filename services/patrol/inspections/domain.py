"""Pure rules of school safety inspections: who inspects and sees which school, what a failed
item becomes, a notice's life, and when it is overdue. The clock is always handed in."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from shared.contracts.inspections import (
    ChecklistItem,
    ChecklistItemView,
    ChecklistKind,
    ItemResult,
    ItemStatus,
    NoticeStatus,
    Reinspection,
)
from shared.events import Timestamp
from shared.identity import SCHOOL_STAFF, STATION_WIDE, Principal, Role

# The checklists a station starts with (a migration seeds them); they are data (the checklist
# collection): extendable and retirable, one mechanism for schools and every venue kind.
DEFAULT_CHECKLIST = (
    ChecklistItem(
        code="one_button_alarm", label="One-button alarm linked to the police", deadline_days=3
    ),
    ChecklistItem(code="gate_staff", label="Staff on duty at the gate", deadline_days=3),
    ChecklistItem(code="cctv", label="CCTV in working order", deadline_days=14),
    ChecklistItem(code="fire_equipment", label="Fire equipment in date", deadline_days=14),
)


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
VENUE_CHECKLISTS: dict[ChecklistKind, tuple[ChecklistItem, ...]] = {
    ChecklistKind.hotel: (*_HOTEL, _SIGNS, _FIRE),
    ChecklistKind.entertainment: (
        ChecklistItem(
            code="minors_not_admitted", label="Minors refused entry, sign shown", deadline_days=3
        ),
        _SIGNS,
        _FIRE,
    ),
    ChecklistKind.short_term_rental: (
        ChecklistItem(
            code="guests_registered", label="Every guest registered by ID", deadline_days=3
        ),
        _SIGNS,
        _FIRE,
    ),
}


def default_checklists() -> dict[ChecklistKind, tuple[ChecklistItem, ...]]:
    """Every kind's first checklist, each item marked with its kind."""
    seeds = {ChecklistKind.school: DEFAULT_CHECKLIST, **VENUE_CHECKLISTS}
    return {
        kind: tuple(i.model_copy(update={"kind": kind}) for i in items)
        for kind, items in seeds.items()
    }


def retire(item: ChecklistItemView, *, by: str, now: datetime) -> ChecklistItemView:
    if item.status is ItemStatus.retired:
        raise Refusal(f"{item.code} is retired already")
    return item.model_copy(
        update={"status": ItemStatus.retired, "retired_at": now, "retired_by": by}
    )


class Inspection(BaseModel):
    id: str
    school_id: str
    officer_id: str
    inspected_at: Timestamp
    results: list[ItemResult]
    notice_ids: list[str]


class Notice(BaseModel):
    """A rectification notice: one failed item, to be fixed by its deadline."""

    id: str
    inspection_id: str
    school_id: str
    item: str
    label: str
    officer_id: str
    status: NoticeStatus = NoticeStatus.open
    deadline: Timestamp
    issued_at: Timestamp
    fixed_note: str | None = None
    fixed_by: str | None = None
    fixed_at: Timestamp | None = None
    reinspections: int = 0
    closed_at: Timestamp | None = None
    overdue_alerted_at: Timestamp | None = None  # the claim of this deadline's alert
    # A venue's notice (docs/patrol.md): `school_id` then carries the venue's id, the place
    # inspected; the venue has no staff here, its officer in charge re-inspects.
    venue_id: str | None = None


class Refusal(Exception):
    """A rule said no; `field` names the request field at fault (None: the state is)."""

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.field = field


def may_inspect(principal: Principal, school_id: str) -> bool:
    return principal.role is Role.police_officer and school_id in principal.school_ids


def visible_schools(principal: Principal) -> tuple[str, ...] | None:
    """The schools whose inspections the caller sees: () none, None all (the station)."""
    if principal.role in STATION_WIDE:
        return None
    if principal.role in SCHOOL_STAFF:
        return (principal.school_id,) if principal.school_id else ()
    if principal.role is Role.police_officer:
        return principal.school_ids
    return ()


def may_see(principal: Principal, school_id: str) -> bool:
    schools = visible_schools(principal)
    return schools is None or school_id in schools


def may_see_notice(principal: Principal, notice: Notice) -> bool:
    if notice.venue_id is None:
        return may_see(principal, notice.school_id)
    return principal.role in STATION_WIDE or principal.user_id == notice.officer_id


def may_reinspect(principal: Principal, notice: Notice) -> bool:
    if notice.venue_id is None:
        return may_inspect(principal, notice.school_id)
    return principal.role is Role.police_officer and principal.user_id == notice.officer_id


def check_results(results: list[ItemResult], checklist: Sequence[ChecklistItem]) -> None:
    """Each item of the checklist answered exactly once, nothing else."""
    answered = [r.item for r in results]
    known = {i.code for i in checklist}
    if unknown := sorted(set(answered) - known):
        raise Refusal(f"not on the checklist: {', '.join(unknown)}", field="results")
    if len(answered) != len(set(answered)):
        raise Refusal("an item is answered twice", field="results")
    if missing := sorted(known - set(answered)):
        raise Refusal(f"not answered: {', '.join(missing)}", field="results")


def notices_for(
    inspection: Inspection, checklist: Sequence[ChecklistItem], *, new_id: list[str]
) -> list[Notice]:
    """A notice per failed item, due `deadline_days` after the inspection."""
    items = {i.code: i for i in checklist}
    failed = [r for r in inspection.results if not r.passed]
    return [
        Notice(
            id=notice_id,
            inspection_id=inspection.id,
            school_id=inspection.school_id,
            item=r.item,
            label=items[r.item].label,
            officer_id=inspection.officer_id,
            deadline=inspection.inspected_at + timedelta(days=items[r.item].deadline_days),
            issued_at=inspection.inspected_at,
        )
        for r, notice_id in zip(failed, new_id, strict=False)
    ]


def report_fixed(notice: Notice, *, note: str, by: str, now: datetime) -> Notice:
    if notice.status is not NoticeStatus.open:
        raise Refusal(f"notice is {notice.status.value}, not open")
    return notice.model_copy(
        update={
            "status": NoticeStatus.fixed_reported,
            "fixed_note": note,
            "fixed_by": by,
            "fixed_at": now,
        }
    )


def reinspect(notice: Notice, body: Reinspection, *, now: datetime) -> Notice:
    """Closed when it passed; re-opened until a new, later deadline when it did not."""
    if notice.status is NoticeStatus.closed:
        raise Refusal("notice is closed")
    count = notice.reinspections + 1
    if body.passed:
        return notice.model_copy(
            update={"status": NoticeStatus.closed, "closed_at": now, "reinspections": count}
        )
    if body.new_deadline is None:
        raise Refusal("a failed re-inspection needs a new deadline", field="new_deadline")
    if body.new_deadline <= now:
        raise Refusal("the new deadline must be in the future", field="new_deadline")
    return notice.model_copy(
        update={
            "status": NoticeStatus.open,
            "deadline": body.new_deadline,
            "reinspections": count,
            "overdue_alerted_at": None,
            "fixed_note": None,
            "fixed_by": None,
            "fixed_at": None,
        }
    )


def overdue(notice: Notice, *, now: datetime) -> bool:
    """Open past its deadline (a fix reported waits for the officer, not the school)."""
    return notice.status is NoticeStatus.open and notice.deadline < now


def needs_alert(notice: Notice, *, now: datetime) -> bool:
    """Overdue and not alerted for this deadline yet (a new deadline clears the claim)."""
    return overdue(notice, now=now) and notice.overdue_alerted_at is None
