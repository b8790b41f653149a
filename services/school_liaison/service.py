"""school_liaison's use cases: filing and reading reports, and what its events change.

The calling convention and the refusals are shared/usecases.py's. The child's details never
leave `Private`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from services.school_liaison import domain, store, vault
from services.school_liaison.models import (
    IdempotencyRecord,
    PendingErasure,
    Private,
    Report,
    School,
)
from services.school_liaison.privacy import Sealer
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.contracts.school import ReportCreate, ReportFiled
from shared.events import new_id, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork, Work
from shared.store import Cursor, DuplicateKeyError, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "school_liaison"
# A lost race for a new child's key costs one retry; more than a few means something else.
R = TypeVar("R")
KEY_RACE_ATTEMPTS = 3


@dataclass(frozen=True)
class ReportAnswer:
    """A report and how much of it the caller sees; `private` is opened only when some of it
    shows (None for the desk, or when it cannot be opened any more)."""

    report: Report
    disclosure: domain.Disclosure
    private: Private | None
    replayed: bool = False  # a retried request, answered with the report it filed before


# --- reads ---------------------------------------------------------------------------------------


async def list_schools(
    port: Reader, *, caller: Principal, limit: int, after: Cursor | None = None
) -> tuple[list[School], Cursor | None]:
    """The schools the caller may see, by id: a page, and the next page's cursor. Who sees
    which school is decided here, so the store's pages are read until this page is full."""
    visible: list[School] = []
    cursor = after
    while len(visible) <= limit:
        schools, cursor = await store.list_schools(port, limit=limit + 1, after=cursor)
        visible += [
            s
            for s in schools
            if domain.may_see_school(caller, school_id=s.id, social_org_id=s.social_org_id)
        ]
        if cursor is None:
            break
    if len(visible) <= limit:
        return visible, None
    last = visible[limit - 1].id
    return visible[:limit], Cursor(last, last)


async def read_report(
    port: Reader, *, sealer: Sealer, caller: Principal, report_id: str
) -> ReportAnswer:
    report = await store.get_report(port, report_id=report_id)
    if report is None:
        raise NotFound("report not found")
    return await _disclose(port, sealer=sealer, caller=caller, report=report)


async def _disclose(
    port: Reader,
    *,
    sealer: Sealer,
    caller: Principal,
    report: Report,
    private: Private | None = None,
    replayed: bool = False,
) -> ReportAnswer:
    disclosure = domain.report_disclosure(
        caller, school_id=report.school_id, social_org_id=report.social_org_id
    )
    if disclosure is None:
        raise NotFound("report not found")
    if private is None and disclosure is not domain.Disclosure.minimal:
        # Opened only for a role that will see some of it.
        private = await vault.open_report(port, sealer, report)
    return ReportAnswer(report=report, disclosure=disclosure, private=private, replayed=replayed)


# --- filing a report -----------------------------------------------------------------------------


async def file_report(
    rt: Transactor,
    *,
    sealer: Sealer,
    caller: Principal,
    body: ReportCreate,
    idempotency_key: str | None,
) -> ReportAnswer:
    """File a report once: a retry with the same Idempotency-Key (and body) gets the report
    the first request filed, even when the two race."""
    school = await store.get_school(rt.store, school_id=body.school_id)
    if school is None:
        raise InvalidField("body", "school_id", "unknown school")
    if not domain.may_file_for(caller, body.school_id):
        raise NotAllowed("only staff of this school may file reports for it")
    fingerprint = domain.request_fingerprint(body, key=sealer.fingerprint_key)
    if idempotency_key:
        replay = await _replay(
            rt.store, sealer=sealer, caller=caller, key=idempotency_key, fingerprint=fingerprint
        )
        if replay is not None:
            return replay

    report = new_report(body, filed_by=caller.user_id, school=school, sealer=sealer)
    private: Private = {
        "description": body.description,
        "student": body.student.model_dump(mode="json"),
    }

    async def work(uow: UnitOfWork) -> Report:
        return await record_report(
            uow,
            sealer=sealer,
            report=report,
            private=private,
            idempotency_key=idempotency_key or None,
            fingerprint=fingerprint,
        )

    try:
        stored = await _retrying_key_races(rt, work)
    except DuplicateKeyError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key won the race; answer with its report.
        replay = await _replay(
            rt.store, sealer=sealer, caller=caller, key=idempotency_key, fingerprint=fingerprint
        )
        if replay is None:
            raise
        return replay
    return await _disclose(rt.store, sealer=sealer, caller=caller, report=stored, private=private)


async def _retrying_key_races(rt: Transactor, work: Work[R]) -> R:
    attempt = 1
    while True:
        try:
            return await rt.transact(work)
        except vault.ChildKeyRace:
            if attempt == KEY_RACE_ATTEMPTS:
                raise
            attempt += 1


async def record_report(
    uow: UnitOfWork,
    *,
    sealer: Sealer,
    report: Report,
    private: Private,
    idempotency_key: str | None,
    fingerprint: str,
) -> Report:
    """Report, child key (if new), idempotency record and ReportFiled, in `uow`'s transaction.
    Returns the report as stored (sealed). Raises DuplicateKeyError when `idempotency_key` is
    taken, vault.ChildKeyRace when the child's new key must be read in a fresh transaction."""
    if idempotency_key:
        record = IdempotencyRecord(
            report_id=report.id, fingerprint=fingerprint, created_at=report.filed_at
        )
        await store.insert_idempotency(
            uow.tx, user_id=report.filed_by, key=idempotency_key, record=record
        )
    # Sealing settles the child's key (and a race for it) and compares the student with who
    # the reports committed under that key say the child is.
    sealed = await vault.seal_report(
        uow.tx, sealer, report=report, private=private, now=report.filed_at
    )
    await store.insert_report(uow.tx, report=sealed)
    # The child's details are needed again: a pending erasure is off.
    pending = await store.get_pending_erasure(uow.tx, child_ref=report.child_ref)
    if pending is not None:
        await store.put_pending_erasure(uow.tx, pending=domain.cancel_erasure(pending))
    uow.announce(_filed(sealed), source=SOURCE, subject=report.id, correlation_id=report.id)
    return sealed


async def _replay(
    port: Reader, *, sealer: Sealer, caller: Principal, key: str, fingerprint: str
) -> ReportAnswer | None:
    record = await store.get_idempotency(port, user_id=caller.user_id, key=key)
    if record is None:
        return None
    if record.fingerprint != fingerprint:
        raise Conflict("Idempotency-Key was already used with a different request")
    report = await store.get_report(port, report_id=record.report_id)
    if report is None:
        # Committed together and reports are never deleted: a damaged store, not a request.
        raise LookupError(f"report {record.report_id} of an idempotency record is missing")
    return await _disclose(port, sealer=sealer, caller=caller, report=report, replayed=True)


def new_report(body: ReportCreate, *, filed_by: str, school: School, sealer: Sealer) -> Report:
    """The report's public part; the private part is sealed in the transaction."""
    return Report(
        id="rep-" + new_id(),
        school_id=body.school_id,
        category=body.category,
        severity=domain.derive_severity(
            body.category, given=body.severity, immediate_danger=body.immediate_danger
        ),
        immediate_danger=body.immediate_danger,
        child_ref=sealer.child_ref(body.student, school_id=body.school_id),
        community_officer_id=school.community_officer_id,
        social_org_id=school.social_org_id,
        filed_by=filed_by,
        filed_at=utcnow(),
    )


def _filed(report: Report) -> ReportFiled:
    """The event: the report's facts and the child's pseudonym, never the sealed part."""
    facts = report.model_dump(include=set(ReportFiled.model_fields) - {"report_id"})
    return ReportFiled.model_validate(facts | {"report_id": report.id})


# --- what other services' events change ----------------------------------------------------------


async def link_report(uow: UnitOfWork, *, linked: ReportLinked) -> None:
    """The report became part of a case (a report this store no longer has changes nothing)."""
    await store.set_report_case(uow.tx, report_id=linked.report_id, case_id=linked.case_id)


async def start_retention(uow: UnitOfWork, *, closed: CaseClosed) -> PendingErasure:
    """The retention period of the child's details starts (retention.py erases when due)."""
    pending = await store.get_pending_erasure(uow.tx, child_ref=closed.child_ref)
    updated = domain.record_closure(
        pending, child_ref=closed.child_ref, case_id=closed.case_id, closed_at=closed.closed_at
    )
    await store.put_pending_erasure(uow.tx, pending=updated)
    return updated
