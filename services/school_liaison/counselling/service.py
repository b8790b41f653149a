"""Counselling's use cases for the list (sessions are in sessions.py), and what both share:
who sees how much, and opening what is sealed.

The student's details and the notes are sealed under the child's data key (vault.py), so
destroying that key erases them with the child's reports.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from services.school_liaison import domain as reports_domain
from services.school_liaison import service as reports
from services.school_liaison import store as school_store
from services.school_liaison import vault
from services.school_liaison.counselling import domain, store
from services.school_liaison.counselling.domain import Entry
from services.school_liaison.domain import Disclosure, report_disclosure
from services.school_liaison.models import School
from services.school_liaison.privacy import Sealer, seal, unseal
from shared.contracts.counselling import (
    CounsellingEntryAdded,
    CounsellingEntryCreate,
    CounsellingEntryRemoved,
    EntryRemoval,
    SessionStatus,
)
from shared.events import new_id, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = reports.SOURCE


@dataclass(frozen=True)
class Shown:
    """A record and how much of it the caller sees, its sealed parts opened where shown."""

    level: Disclosure
    opened: dict[str, Any] | None = None


async def school_of(port: Reader, school_id: str, *, field: str | None = None) -> School:
    school = await school_store.get_school(port, school_id=school_id)
    if school is None:
        if field:
            raise InvalidField("body", field, "unknown school")
        raise NotFound("school not found")
    return school


async def open_sealed(
    port: Reader, sealer: Sealer, *, child_ref: str, blob: str | None, aad: str
) -> dict[str, Any] | None:
    if blob is None:
        return None
    row = await school_store.get_child_key(port, child_ref=child_ref)
    if row is None:
        return None  # the child was erased: unreadable, as intended
    return unseal(blob, data_key=sealer.unwrap(row.wrapped, child_ref=child_ref), record_id=aad)


def level_of(caller: Principal, *, school_id: str, social_org_id: str) -> Disclosure:
    level = domain.disclosure(caller, school_id=school_id, social_org_id=social_org_id)
    if level is None:
        raise NotFound("not found")
    return level


# --- the list ----------------------------------------------------------------------------------


async def add_entry(
    rt: Transactor, *, sealer: Sealer, caller: Principal, body: CounsellingEntryCreate
) -> tuple[Entry, dict[str, Any] | None]:
    if (body.student is None) == (body.child_ref is None):
        raise InvalidField("body", "child_ref", "give either student or child_ref, not both")
    school = await school_of(rt.store, body.school_id, field="school_id")
    if not domain.may_keep_list(caller, school):
        raise NotAllowed("only those who serve this school keep its counselling list")
    if body.student is not None:
        student = body.student.model_dump(mode="json", exclude_none=True)
        child_ref = sealer.child_ref(body.student, school_id=school.id)
    else:
        child_ref = str(body.child_ref)
        student = await _student_of_case(rt.store, sealer, caller=caller, child_ref=child_ref)
    now = utcnow()
    entry_id = "cnl-" + new_id()

    async def work(uow: UnitOfWork) -> Entry:
        if await store.entry_of_child(uow.tx, school_id=school.id, child_ref=child_ref):
            raise Conflict("this student is on the school's counselling list already")
        key = await vault.data_key_for(uow.tx, sealer, child_ref=child_ref, now=now)
        entry = Entry(
            id=entry_id,
            school_id=school.id,
            social_org_id=school.social_org_id,
            child_ref=child_ref,
            reason=body.reason,
            added_by=caller.user_id,
            added_at=now,
            sealed=seal({"student": student}, data_key=key, record_id=entry_id),
        )
        await store.put_entry(uow.tx, entry=entry)
        # On a list again: the child's details are needed, a pending erasure is off.
        pending = await school_store.get_pending_erasure(uow.tx, child_ref=child_ref)
        if pending is not None:
            await school_store.put_pending_erasure(
                uow.tx, pending=reports_domain.cancel_erasure(pending)
            )
        event = CounsellingEntryAdded(
            entry_id=entry.id,
            school_id=entry.school_id,
            child_ref=child_ref,
            reason=entry.reason,
            added_by=entry.added_by,
            added_at=now,
        )
        uow.announce(event, source=SOURCE, subject=entry.id, correlation_id=entry.id)
        return entry

    entry = await rt.transact(work)
    return entry, {"student": student}


async def remove_entry(
    rt: Transactor, *, caller: Principal, entry_id: str, body: EntryRemoval
) -> Entry:
    """Off the list, by those who may add to it. The entry and its sessions stay readable,
    those still scheduled are cancelled; retention starts for the child (erased when due, as
    after a case's closure)."""

    async def work(uow: UnitOfWork) -> Entry:
        entry, _ = await entry_of(uow.tx, caller=caller, entry_id=entry_id)
        school = await school_of(uow.tx, entry.school_id)
        if not domain.may_keep_list(caller, school):
            raise NotAllowed("only those who serve this school keep its counselling list")
        now = utcnow()
        try:
            removed = domain.remove(entry, reason=body.reason, by=caller.user_id, now=now)
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        await store.put_entry(uow.tx, entry=removed)
        # Sessions still ahead will not be held: cancelled, so none turns overdue and alerts.
        for session in await store.scheduled_of_entry(uow.tx, entry_id=entry.id):
            cancelled = session.model_copy(update={"status": SessionStatus.cancelled})
            await store.put_session(uow.tx, session=cancelled)
        pending = await school_store.get_pending_erasure(uow.tx, child_ref=entry.child_ref)
        started = reports_domain.record_removal(pending, child_ref=entry.child_ref, removed_at=now)
        await school_store.put_pending_erasure(uow.tx, pending=started)
        event = CounsellingEntryRemoved(
            entry_id=entry.id,
            school_id=entry.school_id,
            child_ref=entry.child_ref,
            reason=body.reason,
            removed_by=caller.user_id,
            removed_at=now,
        )
        uow.announce(event, source=SOURCE, subject=entry.id, correlation_id=entry.id)
        return removed

    return await rt.transact(work)


async def _student_of_case(
    port: Reader, sealer: Sealer, *, caller: Principal, child_ref: str
) -> dict[str, Any]:
    """The child's details from its reports here, if the caller may see one of them. One
    answer for "no such child" and "not yours", so a pseudonym cannot be probed."""
    seen = [
        r
        for r in await school_store.reports_of_child(port, child_ref=child_ref)
        if report_disclosure(caller, school_id=r.school_id, social_org_id=r.social_org_id)
        not in (None, Disclosure.minimal)
    ]
    students = await vault.sealed_students(port, sealer, child_ref=child_ref) if seen else []
    if not students:
        raise InvalidField("body", "child_ref", "no child of yours has this reference")
    return students[-1]


async def list_entries(
    port: Reader,
    *,
    sealer: Sealer,
    caller: Principal,
    school_id: str,
    limit: int,
    after: Cursor | None,
) -> tuple[list[tuple[Entry, Shown]], Cursor | None]:
    school = await school_of(port, school_id)
    level = level_of(caller, school_id=school.id, social_org_id=school.social_org_id)
    entries, cursor = await store.entries_of_school(
        port, school_id=school.id, limit=limit, after=after
    )
    shown = []
    for entry in entries:
        opened = None
        if level is not Disclosure.minimal:
            opened = await open_sealed(
                port, sealer, child_ref=entry.child_ref, blob=entry.sealed, aad=entry.id
            )
        shown.append((entry, Shown(level, opened)))
    return shown, cursor


async def entry_of(port: Reader, *, caller: Principal, entry_id: str) -> tuple[Entry, Disclosure]:
    entry = await store.get_entry(port, entry_id=entry_id)
    if entry is None:
        raise NotFound("counselling entry not found")
    return entry, level_of(caller, school_id=entry.school_id, social_org_id=entry.social_org_id)
