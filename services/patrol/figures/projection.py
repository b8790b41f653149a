"""The projection: each event of the streams adds to counters per year, for the station ("*")
and for the school it concerns. Applied once per event id (its own mark, so a live consumer and
a rebuild never count an event twice); no child_ref is kept, only counts and task/case/notice
ids to join later events to the school and kind they belong to."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.cases import CaseClosed, CaseOpened, TaskAcknowledged, TaskCreated
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
from shared.events import Envelope
from shared.store import Store, Writer
from shared.store.migrations import Migration

COUNTS_C = "figures_counts"
SAMPLES_C = "figures_samples"
REFS_C = "figures_refs"  # task, case, notice → school and kind
SEEN_C = "figures_seen"
COLLECTIONS = (COUNTS_C, SAMPLES_C, REFS_C, SEEN_C)
COMPONENT = "patrol.figures"
STATION = "*"


async def _indexes(port: Store) -> None:
    await port.ensure_index(COUNTS_C, ["year", "scope"])
    await port.ensure_index(SAMPLES_C, ["year", "scope"])


MIGRATIONS = [Migration(1, "figures by year and scope", _indexes)]


async def _add(
    tx: Writer, *, year: int, school: str | None, figure: str, key: str, n: int = 1
) -> None:
    """Add `n` to the station's counter and, for an event about a school, to the school's."""
    for scope in (STATION, school) if school else (STATION,):
        cid = f"{year}|{scope}|{figure}|{key}"
        doc = await tx.get(COUNTS_C, cid) or {
            "id": cid,
            "year": year,
            "scope": scope,
            "figure": figure,
            "key": key,
            "count": 0,
        }
        doc["count"] = int(doc["count"]) + n
        await tx.put(COUNTS_C, doc)


async def _ref(tx: Writer, ref: str, **fields: Any) -> None:
    await tx.put(REFS_C, {"id": ref, **fields})


async def apply(tx: Writer, envelope: Envelope) -> bool:
    """Count `envelope` once; False for an event counted already or not counted at all."""
    if await tx.get(SEEN_C, envelope.id) is not None:
        return False
    counted = await _count(tx, envelope)
    if counted:
        await tx.insert(SEEN_C, {"id": envelope.id})
    return counted


async def _count(tx: Writer, e: Envelope) -> bool:
    if e.type == ReportFiled.TYPE:
        r = e.parse(ReportFiled)
        for figure, key in (("reports.category", r.category), ("reports.severity", r.severity)):
            await _add(tx, year=r.filed_at.year, school=r.school_id, figure=figure, key=key)
        await _add(
            tx, year=r.filed_at.year, school=r.school_id, figure="reports.school", key=r.school_id
        )
    elif e.type == CaseOpened.TYPE:
        c = e.parse(CaseOpened)
        await _ref(tx, c.case_id, school_id=c.school_id)
        await _add(tx, year=e.time.year, school=c.school_id, figure="cases", key="opened")
    elif e.type == CaseClosed.TYPE:
        closed = e.parse(CaseClosed)
        ref = await tx.get(REFS_C, closed.case_id) or {}
        school = ref.get("school_id")
        await _add(tx, year=closed.closed_at.year, school=school, figure="cases", key="closed")
    elif e.type == TaskCreated.TYPE:
        t = e.parse(TaskCreated)
        await _ref(tx, t.task_id, school_id=t.school_id, kind=t.kind, created_at=e.time.isoformat())
        await _add(tx, year=e.time.year, school=t.school_id, figure="tasks.created", key=t.kind)
    elif e.type == TaskAcknowledged.TYPE:
        a = e.parse(TaskAcknowledged)
        task = await tx.get(REFS_C, a.task_id)
        if task is None:
            return False  # its creation is older than the streams keep
        await _add(
            tx,
            year=a.acknowledged_at.year,
            school=task["school_id"],
            figure="tasks.acknowledged",
            key=task["kind"],
        )
        seconds = (a.acknowledged_at - datetime.fromisoformat(task["created_at"])).total_seconds()
        for scope in (STATION, task["school_id"]):
            await tx.put(
                SAMPLES_C,
                {
                    "id": f"{scope}|ack|{a.task_id}",
                    "year": a.acknowledged_at.year,
                    "scope": scope,
                    "figure": "tasks.ack_s",
                    "key": task["kind"],
                    "value": max(seconds, 0.0),
                },
            )
    elif e.type == CounsellingSessionRecorded.TYPE:
        s = e.parse(CounsellingSessionRecorded)
        await _add(
            tx, year=s.recorded_at.year, school=s.school_id, figure="counselling", key="held"
        )
    elif e.type == CounsellingSessionMissed.TYPE:
        m = e.parse(CounsellingSessionMissed)
        await _add(tx, year=m.at.year, school=m.school_id, figure="counselling", key="missed")
    elif e.type == EducationEventRecorded.TYPE:
        ev = e.parse(EducationEventRecorded)
        await _add(tx, year=ev.held_on.year, school=ev.school_id, figure="education", key="events")
        await _add(
            tx,
            year=ev.held_on.year,
            school=ev.school_id,
            figure="education",
            key="audience",
            n=ev.audience,
        )
    elif e.type == InspectionRecorded.TYPE:
        i = e.parse(InspectionRecorded)
        await _add(
            tx,
            year=i.inspected_at.year,
            school=i.school_id,
            figure="inspections.schools",
            key="inspections",
        )
    elif e.type == VenueInspected.TYPE:
        v = e.parse(VenueInspected)
        await _add(
            tx,
            year=v.inspected_at.year,
            school=None,
            figure="inspections.venues",
            key="inspections",
        )
    elif e.type == RectificationIssued.TYPE:
        n = e.parse(RectificationIssued)
        kind = "venues" if n.venue_id else "schools"
        school = None if n.venue_id else n.school_id
        await _ref(tx, n.notice_id, school_id=school, kind=kind)
        await _add(
            tx, year=e.time.year, school=school, figure=f"inspections.{kind}", key="notices_issued"
        )
    elif e.type == RectificationReinspected.TYPE:
        ri = e.parse(RectificationReinspected)
        notice = await tx.get(REFS_C, ri.notice_id)
        if notice is None or not ri.passed:
            return notice is not None
        await _add(
            tx,
            year=ri.at.year,
            school=notice["school_id"],
            figure=f"inspections.{notice['kind']}",
            key="notices_closed",
        )
    elif e.type == PatrolAlertRaised.TYPE:
        alert = e.parse(PatrolAlertRaised)
        if alert.kind != "rectification_overdue":
            return False
        notice = await tx.get(REFS_C, e.subject)
        if notice is None:
            return False
        await _add(
            tx,
            year=e.time.year,
            school=notice["school_id"],
            figure=f"inspections.{notice['kind']}",
            key="notices_overdue",
        )
    elif e.type == VenueLetterSigned.TYPE:
        letter = e.parse(VenueLetterSigned)
        await _add(
            tx,
            year=letter.signed_on.year,
            school=None,
            figure="venues.letters",
            key=letter.venue_id,
        )
    elif e.type == VideoCheckRecorded.TYPE:
        check = e.parse(VideoCheckRecorded)
        await _add(
            tx, year=check.day.year, school=None, figure="video.day", key=check.day.isoformat()
        )
    else:
        return False
    return True
