"""Inspections' use cases: an inspection and its notices, a fix reported, a re-inspection, the
views per school, officer and district, and the overdue alert (the checklist: checklist.py)."""

from __future__ import annotations

from datetime import datetime, timedelta

from services.patrol.inspections import domain, store
from services.patrol.inspections.domain import Inspection, Notice
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.inspections import (
    ChecklistKind,
    FixReport,
    InspectionCreate,
    InspectionRecorded,
    NoticeStatus,
    RectificationIssued,
    RectificationReinspected,
    RectificationReportedFixed,
    Reinspection,
    SchoolFigures,
)
from shared.contracts.notifications import role_inbox, school_inbox, user_inbox
from shared.events import new_id, utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, NotFound, Transactor

SOURCE = "patrol"


def _scope(caller: Principal, school_id: str | None) -> tuple[str, ...] | None:
    """The schools a list covers: the caller's, narrowed to `school_id` if given (404 if that
    school is not theirs to see)."""
    schools = domain.visible_schools(caller)
    if school_id is None:
        return schools
    if not domain.may_see(caller, school_id):
        raise NotFound("school not found")
    return (school_id,)


# --- inspecting -------------------------------------------------------------------------------


async def inspect(
    rt: Transactor, *, caller: Principal, body: InspectionCreate, now: datetime | None = None
) -> tuple[Inspection, list[Notice]]:
    """The inspection and a notice per failed item, with their events, in one transaction."""
    if not domain.may_inspect(caller, body.school_id):
        raise NotAllowed("only the school's community officer inspects it")
    at = now or utcnow()

    async def work(uow: UnitOfWork) -> tuple[Inspection, list[Notice]]:
        items = await store.checklist(uow.tx, kind=ChecklistKind.school)
        try:
            domain.check_results(body.results, items)
        except domain.Refusal as exc:
            raise InvalidField("body", exc.field or "results", str(exc)) from exc
        inspection = Inspection(
            id="insp-" + new_id(),
            school_id=body.school_id,
            officer_id=caller.user_id,
            inspected_at=at,
            results=body.results,
            notice_ids=[],
        )
        ids = ["rect-" + new_id() for r in body.results if not r.passed]
        notices = domain.notices_for(inspection, items, new_id=ids)
        inspection = inspection.model_copy(update={"notice_ids": ids})
        await store.put_inspection(uow.tx, inspection=inspection)
        recorded = InspectionRecorded(
            inspection_id=inspection.id,
            school_id=inspection.school_id,
            officer_id=caller.user_id,
            failed_items=tuple(n.item for n in notices),
            inspected_at=at,
        )
        uow.announce(recorded, source=SOURCE, subject=inspection.id, correlation_id=inspection.id)
        for notice in notices:
            await store.put_notice(uow.tx, notice=notice)
            issued = RectificationIssued(
                notice_id=notice.id,
                inspection_id=inspection.id,
                school_id=notice.school_id,
                item=notice.item,
                deadline=notice.deadline,
            )
            uow.announce(issued, source=SOURCE, subject=notice.id, correlation_id=inspection.id)
            _alert(
                uow,
                notice,
                kind="rectification_issued",
                recipients=(school_inbox(notice.school_id),),
                title=f"Rectification notice: {notice.label}, due {notice.deadline:%Y-%m-%d}",
            )
        await store.add_to_figures(
            uow.tx,
            school_id=body.school_id,
            at=at,
            inspections=1,
            items_failed=len(notices),
            notices_open=len(notices),
        )
        return inspection, notices

    return await rt.transact(work)


async def issue_notice(
    uow: UnitOfWork,
    *,
    school_id: str,
    source_id: str,
    item: str,
    label: str,
    officer_id: str,
    deadline_days: int,
    at: datetime,
    venue_id: str | None = None,
) -> Notice:
    """A notice raised outside a school inspection (a hazard seen on video patrol, a venue's
    failed item): the same notice, event, deadline, re-inspection and overdue alert as a
    failed checklist item's. A school's is also told to its staff and counted in its figures;
    a venue's (`school_id` = `venue_id`) goes to its officer in charge."""
    notice = Notice(
        venue_id=venue_id,
        id="rect-" + new_id(),
        inspection_id=source_id,
        school_id=school_id,
        item=item,
        label=label,
        officer_id=officer_id,
        deadline=at + timedelta(days=deadline_days),
        issued_at=at,
    )
    await store.put_notice(uow.tx, notice=notice)
    issued = RectificationIssued(
        notice_id=notice.id,
        inspection_id=source_id,
        school_id=school_id,
        item=item,
        deadline=notice.deadline,
        venue_id=venue_id,
    )
    uow.announce(issued, source=SOURCE, subject=notice.id, correlation_id=source_id)
    if venue_id is not None:
        return notice
    _alert(
        uow,
        notice,
        kind="rectification_issued",
        recipients=(school_inbox(school_id),),
        title=f"Rectification notice: {label}, due {notice.deadline:%Y-%m-%d}",
    )
    await store.add_to_figures(uow.tx, school_id=school_id, items_failed=1, notices_open=1)
    return notice


async def _notice_for_change(uow: UnitOfWork, *, caller: Principal, notice_id: str) -> Notice:
    notice = await store.get_notice(uow.tx, notice_id=notice_id)
    if notice is None or not domain.may_see_notice(caller, notice):
        raise NotFound("rectification notice not found")
    return notice


async def report_fixed(
    rt: Transactor, *, caller: Principal, notice_id: str, body: FixReport
) -> Notice:
    async def work(uow: UnitOfWork) -> Notice:
        notice = await _notice_for_change(uow, caller=caller, notice_id=notice_id)
        now = utcnow()
        try:
            fixed = domain.report_fixed(notice, note=body.note, by=caller.user_id, now=now)
        except domain.Refusal as exc:
            raise Conflict(str(exc)) from exc
        await store.put_notice(uow.tx, notice=fixed)
        event = RectificationReportedFixed(
            notice_id=fixed.id, school_id=fixed.school_id, reported_by=caller.user_id, at=now
        )
        uow.announce(event, source=SOURCE, subject=fixed.id, correlation_id=fixed.id)
        _alert(
            uow,
            fixed,
            kind="rectification_fixed",
            recipients=(user_inbox(fixed.officer_id),),
            title=f"{fixed.school_id} reports fixed: {fixed.label}; please re-inspect",
        )
        return fixed

    return await rt.transact(work)


async def reinspect(
    rt: Transactor,
    *,
    caller: Principal,
    notice_id: str,
    body: Reinspection,
    now: datetime | None = None,
) -> Notice:
    async def work(uow: UnitOfWork) -> Notice:
        notice = await _notice_for_change(uow, caller=caller, notice_id=notice_id)
        if not domain.may_reinspect(caller, notice):
            raise NotAllowed("only the school's community officer re-inspects")
        at = now or utcnow()
        try:
            after = domain.reinspect(notice, body, now=at)
        except domain.Refusal as exc:
            if exc.field:
                raise InvalidField("body", exc.field, str(exc)) from exc
            raise Conflict(str(exc)) from exc
        await store.put_notice(uow.tx, notice=after)
        if after.status is NoticeStatus.closed and after.venue_id is None:
            await store.add_to_figures(
                uow.tx, school_id=after.school_id, notices_open=-1, notices_closed=1
            )
        event = RectificationReinspected(
            notice_id=after.id,
            school_id=after.school_id,
            officer_id=caller.user_id,
            passed=body.passed,
            deadline=after.deadline,
            at=at,
        )
        uow.announce(event, source=SOURCE, subject=after.id, correlation_id=after.id)
        return after

    return await rt.transact(work)


# --- reads ------------------------------------------------------------------------------------


async def inspections(
    port: Reader, *, caller: Principal, school_id: str | None, limit: int, after: Cursor | None
) -> tuple[list[Inspection], Cursor | None]:
    schools = _scope(caller, school_id)
    return await store.inspections(port, schools=schools, limit=limit, after=after)


async def notices(
    port: Reader,
    *,
    caller: Principal,
    school_id: str | None,
    status: NoticeStatus | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Notice], Cursor | None]:
    schools = _scope(caller, school_id)
    return await store.notices(port, schools=schools, status=status, limit=limit, after=after)


async def figures(
    port: Reader,
    *,
    caller: Principal,
    limit: int,
    after: Cursor | None,
    now: datetime | None = None,
) -> tuple[list[SchoolFigures], Cursor | None]:
    """Per school the caller sees, by id; `overdue` counted now."""
    docs, cursor = await store.figures(
        port, schools=domain.visible_schools(caller), limit=limit, after=after
    )
    at = now or utcnow()
    return [
        store.figures_of(d, overdue=await store.overdue_count(port, school_id=d["id"], now=at))
        for d in docs
    ], cursor


# --- the overdue alert ------------------------------------------------------------------------


async def claim_overdue(uow: UnitOfWork, *, notice_id: str, now: datetime) -> bool:
    """Alert the school's safety lead, the officer and the desk once per deadline missed: the
    claim is written in the alert's transaction."""
    notice = await store.get_notice(uow.tx, notice_id=notice_id)
    if notice is None or not domain.needs_alert(notice, now=now):
        return False
    await store.put_notice(uow.tx, notice=notice.model_copy(update={"overdue_alerted_at": now}))
    desk = (user_inbox(notice.officer_id), role_inbox(Role.dispatcher))
    recipients = desk if notice.venue_id else (school_inbox(notice.school_id), *desk)
    due = f"{notice.deadline:%Y-%m-%d}"
    title = f"Overdue rectification at {notice.school_id}: {notice.label} (due {due})"
    _alert(
        uow,
        notice,
        kind="rectification_overdue",
        recipients=recipients,
        title=title,
        key=f"{notice.id}-{notice.deadline:%Y%m%d%H%M%S}",
    )
    return True


def _alert(
    uow: UnitOfWork,
    notice: Notice,
    *,
    kind: str,
    recipients: tuple[str, ...],
    title: str,
    key: str | None = None,
) -> None:
    raised = PatrolAlertRaised(
        alert_id=f"{kind}-{key or notice.id}",
        kind=kind,
        recipients=recipients,
        title=title,
        school_id=notice.school_id,
        due_at=notice.deadline,
    )
    uow.announce(raised, source=SOURCE, subject=notice.id, correlation_id=notice.id)
