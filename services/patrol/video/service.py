"""The video patrol's use cases: a school's check with its findings (a hazard becomes a
rectification notice, a student at risk a concern report through school_liaison), the day's
log, the days, and the desk's alert naming the schools not checked by the configured time."""

from __future__ import annotations

from datetime import date, datetime

from services.patrol.inspections import service as inspections
from services.patrol.video import domain, store
from services.patrol.video.domain import FindingRecord, VideoCheck, VideoConfig
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.notifications import role_inbox
from shared.contracts.video_patrol import (
    Finding,
    FindingKind,
    FindingView,
    VideoCheckCreate,
    VideoCheckRecorded,
    VideoCheckView,
    VideoConcernRaised,
    VideoDaySummary,
    VideoDayView,
)
from shared.events import new_id, utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Cursor, Doc, DuplicateKeyError, Reader
from shared.usecases import Conflict, InvalidField, NotAllowed, Transactor

SOURCE = "patrol"
HAZARD_ITEM = "video_hazard"


def _refused(exc: domain.Refusal) -> InvalidField:
    return InvalidField("body", exc.field, str(exc))


async def record_check(
    rt: Transactor,
    *,
    caller: Principal,
    body: VideoCheckCreate,
    config: VideoConfig,
    now: datetime | None = None,
) -> VideoCheck:
    """The check, its findings' notices and concern events, the day's tally: one transaction."""
    if caller.role not in domain.RECORDERS:
        raise NotAllowed("the station's officers record the video patrol")
    at = now or utcnow()
    if body.school_id not in config.schools:
        raise InvalidField("body", "school_id", "no connected cameras at this school")
    try:
        day = domain.day_of_check(body.day, now=at, config=config)
        domain.check_findings(body.findings)
    except domain.Refusal as exc:
        raise _refused(exc) from exc
    cid = domain.check_id(day, body.school_id)

    async def work(uow: UnitOfWork) -> VideoCheck:
        findings = [
            await _act_on(uow, f, check=cid, caller=caller, school=body.school_id, at=at)
            for f in body.findings
        ]
        check = VideoCheck(
            id=cid,
            day=day,
            school_id=body.school_id,
            officer_id=caller.user_id,
            checked_at=at,
            findings=findings,
        )
        await store.insert_check(uow.tx, check=check)
        await store.add_to_day(uow.tx, day=day, school_id=body.school_id, findings=len(findings))
        recorded = VideoCheckRecorded(
            check_id=cid,
            day=day,
            school_id=body.school_id,
            officer_id=caller.user_id,
            finding_kinds=tuple(f.kind for f in findings),
            checked_at=at,
        )
        uow.announce(recorded, source=SOURCE, subject=cid, correlation_id=cid)
        return check

    try:
        return await rt.transact(work)
    except DuplicateKeyError:
        raise Conflict(f"{body.school_id} was checked on {day} already") from None


async def _act_on(
    uow: UnitOfWork, finding: Finding, *, check: str, caller: Principal, school: str, at: datetime
) -> FindingRecord:
    record = FindingRecord(id="vpf-" + new_id(), kind=finding.kind, note=finding.note)
    if finding.kind is FindingKind.hazard:
        notice = await inspections.issue_notice(
            uow,
            school_id=school,
            source_id=check,
            item=HAZARD_ITEM,
            label=f"Hazard seen on video patrol: {finding.note[:120]}",
            officer_id=caller.user_id,
            deadline_days=finding.deadline_days or domain.HAZARD_DEADLINE_DAYS,
            at=at,
        )
        return record.model_copy(update={"notice_id": notice.id})
    if finding.kind is FindingKind.student_at_risk:
        category = finding.category or domain.AT_RISK_CATEGORY
        raised = VideoConcernRaised(
            finding_id=record.id,
            report_id="rep-" + new_id(),  # school_liaison files it under this id
            school_id=school,
            category=category,
            note=finding.note,
            officer_id=caller.user_id,
            seen_at=at,
        )
        uow.announce(raised, source=SOURCE, subject=record.id, correlation_id=check)
        return record.model_copy(update={"category": category, "report_id": raised.report_id})
    return record


# --- reads ------------------------------------------------------------------------------------


def _may_read(caller: Principal) -> None:
    if caller.role not in domain.READERS:
        raise NotAllowed("the station's officers, desk and supervisor read the video patrol")


def check_view(check: VideoCheck) -> VideoCheckView:
    findings = [FindingView.model_validate(f.model_dump()) for f in check.findings]
    return VideoCheckView.model_validate({**check.model_dump(), "findings": findings})


async def day_log(
    port: Reader, *, caller: Principal, day: date, config: VideoConfig
) -> VideoDayView:
    _may_read(caller)
    checks = await store.checks_of(port, day=day)
    doc = await store.get_day(port, day=day) or {}
    return VideoDayView(
        day=day,
        schools=len(config.schools),
        checked=[check_view(c) for c in checks],
        missing=domain.missing(config.schools, (c.school_id for c in checks)),
        findings=sum(len(c.findings) for c in checks),
        missing_alerted_at=doc.get("missing_alerted_at"),
    )


def _summary(doc: Doc, config: VideoConfig) -> VideoDaySummary:
    left = domain.missing(config.schools, doc["checked"])
    return VideoDaySummary(
        day=doc["day"],
        schools=len(config.schools),
        checked=len(config.schools) - len(left),
        complete=not left,
        findings=doc["findings"],
        missing_alerted_at=doc.get("missing_alerted_at"),
    )


async def days(
    port: Reader,
    *,
    caller: Principal,
    start: date | None,
    end: date | None,
    config: VideoConfig,
    limit: int,
    after: Cursor | None,
) -> tuple[list[VideoDaySummary], Cursor | None]:
    _may_read(caller)
    if start and end and start > end:
        raise InvalidField("query", "from", "must not be after `to`")
    docs, cursor = await store.days(port, start=start, end=end, limit=limit, after=after)
    return [_summary(d, config) for d in docs], cursor


# --- the desk's alert -------------------------------------------------------------------------


async def claim_missing(uow: UnitOfWork, *, day: date, config: VideoConfig, now: datetime) -> bool:
    """Tell the desk which schools were not checked, once per day: the claim is written in
    the alert's transaction (two sweepers, or a sweep after a crash, alert once)."""
    doc = await store.get_day(uow.tx, day=day)
    left = domain.missing(config.schools, doc["checked"] if doc else ())
    if not left:
        return False
    if await store.claim_missing_alert(uow.tx, day=day, now=now) is None:
        return False
    title = f"Video patrol {day}: {len(left)} schools not checked by {config.check_by:%H:%M}"
    raised = PatrolAlertRaised(
        alert_id=f"video_missing-{day.isoformat()}",
        kind="video_patrol_missing",
        recipients=(role_inbox(Role.dispatcher),),
        title=f"{title}: {', '.join(left)}",
        school_id=left[0],  # the first missing; the title names them all
    )
    uow.announce(raised, source=SOURCE, subject=f"video-{day}", correlation_id=f"video-{day}")
    return True
