"""Counselling sessions: scheduled, recorded by their counsellor or missed. An acute-risk record
files a concern report through the core flow's own path (service.record_report) in the same
transaction; missed and overdue sessions alert the counsellor."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from services.school_liaison import service as reports
from services.school_liaison import store as school_store
from services.school_liaison import vault
from services.school_liaison.counselling import domain, store
from services.school_liaison.counselling.domain import Session
from services.school_liaison.counselling.service import (
    SOURCE,
    Shown,
    entry_of,
    level_of,
    open_sealed,
    school_of,
)
from services.school_liaison.domain import Disclosure, request_fingerprint
from services.school_liaison.models import Report
from services.school_liaison.privacy import Sealer, seal
from shared.contracts.alerts import SchoolAlertRaised
from shared.contracts.counselling import (
    CounsellingSessionMissed,
    CounsellingSessionRecorded,
    CounsellingSessionScheduled,
    CounsellorScope,
    SessionRecord,
    SessionSchedule,
)
from shared.contracts.notifications import user_inbox
from shared.contracts.school import ReportCreate, StudentIn
from shared.events import new_id, utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader, Writer
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor


async def schedule(
    rt: Transactor,
    *,
    caller: Principal,
    entry_id: str,
    body: SessionSchedule,
    counsellor: CounsellorScope,
) -> Session:
    """`counsellor`: the counsellor's account (the gateway's directory) for the scope check."""
    entry, _ = await entry_of(rt.store, caller=caller, entry_id=entry_id)
    school = await school_of(rt.store, entry.school_id)
    if not domain.may_keep_list(caller, school):
        raise NotAllowed("only those who serve this school schedule its sessions")
    if counsellor.role is not body.counsellor_role:
        raise InvalidField("body", "counsellor_role", f"the counsellor is a {counsellor.role}")
    if not domain.serves(counsellor, school):
        raise InvalidField("body", "counsellor_id", "the counsellor does not serve this school")
    session = Session(
        id="cns-" + new_id(),
        entry_id=entry.id,
        school_id=entry.school_id,
        social_org_id=entry.social_org_id,
        child_ref=entry.child_ref,
        counsellor_id=body.counsellor_id,
        counsellor_role=body.counsellor_role,
        place=body.place,
        scheduled_at=body.scheduled_at,
    )

    async def work(uow: UnitOfWork) -> Session:
        current = await store.get_entry(uow.tx, entry_id=entry.id)
        if current is None or current.removed_at is not None:
            raise Conflict("the student is off the counselling list")
        await store.put_session(uow.tx, session=session)
        event = CounsellingSessionScheduled(
            session_id=session.id,
            entry_id=entry.id,
            school_id=entry.school_id,
            child_ref=entry.child_ref,
            counsellor_id=session.counsellor_id,
            scheduled_at=session.scheduled_at,
        )
        uow.announce(event, source=SOURCE, subject=session.id, correlation_id=session.id)
        return session

    return await rt.transact(work)


async def sessions_of(
    port: Reader,
    *,
    sealer: Sealer,
    caller: Principal,
    entry_id: str,
    limit: int,
    after: Cursor | None,
) -> tuple[list[tuple[Session, Shown]], Cursor | None]:
    """The student's sessions in time order: their state over time, notes where shown."""
    _, level = await entry_of(port, caller=caller, entry_id=entry_id)
    sessions, cursor = await store.sessions_of_entry(
        port, entry_id=entry_id, limit=limit, after=after
    )
    shown = []
    for s in sessions:
        opened = None
        if domain.sees_notes(level):
            opened = await open_sealed(
                port, sealer, child_ref=s.child_ref, blob=s.sealed_note, aad=s.id
            )
        shown.append((s, Shown(level, opened)))
    return shown, cursor


async def _session_for_change(tx: Writer, *, caller: Principal, session_id: str) -> Session:
    session = await store.get_session(tx, session_id=session_id)
    if session is None:
        raise NotFound("session not found")
    level_of(caller, school_id=session.school_id, social_org_id=session.social_org_id)
    return session


async def record(
    rt: Transactor, *, sealer: Sealer, caller: Principal, session_id: str, body: SessionRecord
) -> tuple[Session, Shown]:
    """The session held and recorded; acute risk files a concern report in the same
    transaction, so the case and its tasks follow as for any report."""

    async def work(uow: UnitOfWork) -> Session:
        session = await _session_for_change(uow.tx, caller=caller, session_id=session_id)
        if not domain.may_record(caller, session):
            raise NotAllowed("only the session's counsellor records it")
        now = utcnow()
        try:
            held = domain.record(session, body, by=caller.user_id, now=now, report_id=None)
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        report_id = None
        if body.acute_risk:
            report_id = await _file_acute_risk(uow, sealer, session=session, body=body, by=caller)
            held = held.model_copy(update={"report_id": report_id})
        key = await vault.data_key_for(uow.tx, sealer, child_ref=session.child_ref, now=now)
        held = held.model_copy(
            update={"sealed_note": seal({"note": body.note}, data_key=key, record_id=held.id)}
        )
        await store.put_session(uow.tx, session=held)
        entry = await store.get_entry(uow.tx, entry_id=held.entry_id)
        if entry is not None:
            latest = entry.model_copy(update={"latest_state": held.state})
            await store.put_entry(uow.tx, entry=latest)
        event = CounsellingSessionRecorded(
            session_id=held.id,
            entry_id=held.entry_id,
            school_id=held.school_id,
            child_ref=held.child_ref,
            state=body.state,
            acute_risk=body.acute_risk,
            report_id=report_id,
            recorded_at=now,
        )
        uow.announce(event, source=SOURCE, subject=held.id, correlation_id=held.id)
        return held

    held = await rt.transact(work)
    return held, Shown(Disclosure.full, {"note": body.note})


def _as_entered(student: dict[str, Any]) -> StudentIn:
    """The listed child's details as a report takes them. Details sealed before the ID number's
    check digit was enforced still file the report (the check is for what staff type, not for
    what is held); the report keeps the details as held, sealed."""
    try:
        return StudentIn.model_validate(student)
    except ValidationError:
        return StudentIn.model_validate({**student, "id_number": None, "date_of_birth": None})


async def _file_acute_risk(
    uow: UnitOfWork, sealer: Sealer, *, session: Session, body: SessionRecord, by: Principal
) -> str:
    entry = await store.get_entry(uow.tx, entry_id=session.entry_id)
    school = await school_store.get_school(uow.tx, school_id=session.school_id)
    opened = None
    if entry is not None:
        opened = await open_sealed(
            uow.tx, sealer, child_ref=entry.child_ref, blob=entry.sealed, aad=entry.id
        )
    if school is None or opened is None:
        raise Conflict("the student's details are no longer held: file a report by hand")
    request = ReportCreate(
        school_id=school.id,
        category=domain.ACUTE_RISK_CATEGORY,
        immediate_danger=True,
        description=domain.acute_risk_description(session, body.note),
        student=_as_entered(opened["student"]),
    )
    report = reports.new_report(request, filed_by=by.user_id, school=school, sealer=sealer)
    report = report.model_copy(update={"child_ref": session.child_ref})  # the listed child
    private = {"description": request.description, "student": opened["student"]}
    stored: Report = await reports.record_report(
        uow,
        sealer=sealer,
        report=report,
        private=private,
        idempotency_key=None,
        fingerprint=request_fingerprint(request, key=sealer.fingerprint_key),
    )
    return stored.id


async def missed(rt: Transactor, *, caller: Principal, session_id: str) -> Session:
    """Nobody came: the counsellor is alerted (they may not be the one who says so)."""

    async def work(uow: UnitOfWork) -> Session:
        session = await _session_for_change(uow.tx, caller=caller, session_id=session_id)
        school = await school_of(uow.tx, session.school_id)
        if not domain.may_keep_list(caller, school):
            raise NotAllowed("only those who serve this school record its sessions")
        now = utcnow()
        try:
            gone = domain.mark_missed(session, by=caller.user_id, now=now)
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        await store.put_session(uow.tx, session=gone)
        event = CounsellingSessionMissed(
            session_id=gone.id,
            entry_id=gone.entry_id,
            school_id=gone.school_id,
            child_ref=gone.child_ref,
            counsellor_id=gone.counsellor_id,
            reported_by=caller.user_id,
            at=now,
        )
        uow.announce(event, source=SOURCE, subject=gone.id, correlation_id=gone.id)
        alert(
            uow,
            session=gone,
            kind="counselling_session_missed",
            title=(f"Counselling session {gone.id} at {gone.place} was missed: please reschedule"),
        )
        return gone

    return await rt.transact(work)


def alert(uow: UnitOfWork, *, session: Session, kind: str, title: str) -> None:
    """The counsellor's inbox; the id follows from the session and kind: alerted once."""
    raised = SchoolAlertRaised(
        alert_id=f"{kind}-{session.id}",
        kind=kind,
        recipients=(user_inbox(session.counsellor_id),),
        title=title,
        school_id=session.school_id,
        due_at=session.scheduled_at,
    )
    uow.announce(raised, source=SOURCE, subject=session.id, correlation_id=session.id)
