"""What each event adds to the year's figures: its year, the school it concerns, and
(figure, key, n) additions and time samples. Only the task, case and notice refs are read (and
written) here, to join later events to the school and kind they belong to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.cases import (
    CaseClosed,
    CaseMonitored,
    CaseOpened,
    DispositionRecorded,
    FollowUpRecorded,
    TaskAcknowledged,
    TaskCompleted,
    TaskCreated,
    TaskEscalated,
)
from shared.contracts.counselling import CounsellingSessionMissed, CounsellingSessionRecorded
from shared.contracts.education import EducationEventRecorded
from shared.contracts.inspections import (
    InspectionRecorded,
    RectificationIssued,
    RectificationReinspected,
)
from shared.contracts.school import ReportFiled
from shared.contracts.venues import VenueInspected, VenueLetterSigned
from shared.contracts.video_patrol import VideoCheckRecorded
from shared.events import Envelope, EventData


class Refs(Protocol):
    async def get(self, ref: str) -> dict[str, Any] | None: ...

    async def put(self, ref: str, **fields: Any) -> None: ...


@dataclass
class Count:
    year: int
    school: str | None
    adds: list[tuple[str, str, int]] = field(default_factory=list)
    samples: list[tuple[str, str, str, float]] = field(default_factory=list)  # figure, key, id, v


Counter = Callable[[Envelope, Refs], Awaitable[Count | None]]


def _seconds(start: str, end: datetime) -> float:
    return max((end - datetime.fromisoformat(start)).total_seconds(), 0.0)


async def _report(e: Envelope, _: Refs) -> Count:
    r = e.parse(ReportFiled)
    adds = [
        ("reports.category", r.category, 1),
        ("reports.severity", r.severity, 1),
        ("reports.school", r.school_id, 1),
    ]
    return Count(r.filed_at.year, r.school_id, adds)


async def _case_opened(e: Envelope, refs: Refs) -> Count:
    c = e.parse(CaseOpened)
    await refs.put(c.case_id, school_id=c.school_id)
    return Count(e.time.year, c.school_id, [("cases.status", "opened", 1)])


async def _case_school(refs: Refs, case_id: str) -> str | None:
    ref = await refs.get(case_id) or {}
    return ref.get("school_id")


async def _case_closed(e: Envelope, refs: Refs) -> Count:
    c = e.parse(CaseClosed)
    school = await _case_school(refs, c.case_id)
    return Count(c.closed_at.year, school, [("cases.status", "closed", 1)])


async def _monitored(e: Envelope, refs: Refs) -> Count:
    """Put under monitoring, or followed up: the case counts once a year (a key per case)."""
    if e.type == CaseMonitored.TYPE:
        case_id = e.parse(CaseMonitored).case_id
    else:
        case_id = e.parse(FollowUpRecorded).case_id
    school = await _case_school(refs, case_id)
    return Count(e.time.year, school, [("cases.monitored", case_id, 1)])


async def _disposition(e: Envelope, refs: Refs) -> Count:
    d = e.parse(DispositionRecorded)
    school = await _case_school(refs, d.case_id)
    return Count(e.time.year, school, [("dispositions.kind", d.kind, 1)])


async def _task_created(e: Envelope, refs: Refs) -> Count:
    t = e.parse(TaskCreated)
    await refs.put(t.task_id, school_id=t.school_id, kind=t.kind, created_at=e.time.isoformat())
    return Count(e.time.year, t.school_id, [("tasks.created", t.kind, 1)])


async def _task_acknowledged(e: Envelope, refs: Refs) -> Count | None:
    a = e.parse(TaskAcknowledged)
    task = await refs.get(a.task_id)
    if task is None:
        return None  # its creation is older than the streams keep
    count = Count(
        a.acknowledged_at.year, task["school_id"], [("tasks.acknowledged", task["kind"], 1)]
    )
    seconds = _seconds(task["created_at"], a.acknowledged_at)
    count.samples.append(("tasks.ack_s", task["kind"], f"ack|{a.task_id}", seconds))
    return count


async def _task_completed(e: Envelope, refs: Refs) -> Count | None:
    done = e.parse(TaskCompleted)
    task = await refs.get(done.task_id)
    if task is None:
        return None
    count = Count(done.completed_at.year, task["school_id"], [("tasks.completed", task["kind"], 1)])
    seconds = _seconds(task["created_at"], done.completed_at)
    count.samples.append(("tasks.done_s", task["kind"], f"done|{done.task_id}", seconds))
    return count


async def _escalated(e: Envelope, refs: Refs) -> Count:
    esc = e.parse(TaskEscalated)
    task = await refs.get(esc.task_id) or {}
    return Count(e.time.year, task.get("school_id"), [("escalations.level", esc.level, 1)])


async def _counselling(e: Envelope, _: Refs) -> Count:
    if e.type == CounsellingSessionRecorded.TYPE:
        held = e.parse(CounsellingSessionRecorded)
        return Count(held.recorded_at.year, held.school_id, [("counselling.sessions", "held", 1)])
    missed = e.parse(CounsellingSessionMissed)
    return Count(missed.at.year, missed.school_id, [("counselling.sessions", "missed", 1)])


async def _education(e: Envelope, _: Refs) -> Count:
    ev = e.parse(EducationEventRecorded)
    adds = [("education.totals", "events", 1), ("education.totals", "audience", ev.audience)]
    return Count(ev.held_on.year, ev.school_id, adds)


async def _school_inspection(e: Envelope, _: Refs) -> Count:
    i = e.parse(InspectionRecorded)
    return Count(i.inspected_at.year, i.school_id, [("inspections.schools", "inspections", 1)])


async def _venue_inspection(e: Envelope, _: Refs) -> Count:
    v = e.parse(VenueInspected)
    return Count(v.inspected_at.year, None, [("inspections.venues", "inspections", 1)])


async def _notice_issued(e: Envelope, refs: Refs) -> Count:
    n = e.parse(RectificationIssued)
    kind = "venues" if n.venue_id else "schools"
    school = None if n.venue_id else n.school_id
    await refs.put(n.notice_id, school_id=school, kind=kind)
    return Count(e.time.year, school, [(f"inspections.{kind}", "notices_issued", 1)])


async def _notice_closed(e: Envelope, refs: Refs) -> Count | None:
    ri = e.parse(RectificationReinspected)
    notice = await refs.get(ri.notice_id)
    if notice is None:
        return None
    adds = [(f"inspections.{notice['kind']}", "notices_closed", 1)] if ri.passed else []
    return Count(ri.at.year, notice["school_id"], adds)


async def _alert(e: Envelope, refs: Refs) -> Count | None:
    if e.parse(PatrolAlertRaised).kind != "rectification_overdue":
        return None
    notice = await refs.get(e.subject)
    if notice is None:
        return None
    adds = [(f"inspections.{notice['kind']}", "notices_overdue", 1)]
    return Count(e.time.year, notice["school_id"], adds)


async def _letter(e: Envelope, _: Refs) -> Count:
    letter = e.parse(VenueLetterSigned)
    return Count(letter.signed_on.year, None, [("venues.letters", letter.venue_id, 1)])


async def _video(e: Envelope, _: Refs) -> Count:
    check = e.parse(VideoCheckRecorded)
    return Count(check.day.year, None, [("video.day", check.day.isoformat(), 1)])


COUNTERS: dict[type[EventData], Counter] = {
    ReportFiled: _report,
    CaseOpened: _case_opened,
    CaseClosed: _case_closed,
    CaseMonitored: _monitored,
    FollowUpRecorded: _monitored,
    DispositionRecorded: _disposition,
    TaskCreated: _task_created,
    TaskAcknowledged: _task_acknowledged,
    TaskCompleted: _task_completed,
    TaskEscalated: _escalated,
    CounsellingSessionRecorded: _counselling,
    CounsellingSessionMissed: _counselling,
    EducationEventRecorded: _education,
    InspectionRecorded: _school_inspection,
    VenueInspected: _venue_inspection,
    RectificationIssued: _notice_issued,
    RectificationReinspected: _notice_closed,
    PatrolAlertRaised: _alert,
    VenueLetterSigned: _letter,
    VideoCheckRecorded: _video,
}
_BY_TYPE = {model.TYPE: counter for model, counter in COUNTERS.items()}


async def count(e: Envelope, refs: Refs) -> Count | None:
    """What `e` adds; None for an event the figures do not count."""
    counter = _BY_TYPE.get(e.type)
    return None if counter is None else await counter(e, refs)
