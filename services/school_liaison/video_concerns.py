"""A student seen at risk on the video patrol (patrol's `patrol.video.concern_raised`) becomes
a concern report here, through the teacher's path (`service.record_report`): the case and its
police and social-work tasks follow as for any report.

The officer watching a camera does not know who the child is: the report's sealed student is
"unidentified", one per finding (its own pseudonym), so two unrelated sightings never join one
case. The school identifies the child in a report of its own, which opens or joins the real case.
"""

from __future__ import annotations

import logging

from services.school_liaison import service, store
from services.school_liaison.domain import request_fingerprint
from services.school_liaison.privacy import Sealer
from shared.contracts.school import ReportCreate, StudentIn
from shared.contracts.video_patrol import VideoConcernRaised
from shared.runtime import UnitOfWork

log = logging.getLogger("hulei.school_liaison.video")


def _request(raised: VideoConcernRaised) -> ReportCreate:
    return ReportCreate(
        school_id=raised.school_id,
        category=raised.category,
        description=f"Seen on the video patrol at {raised.seen_at:%Y-%m-%d %H:%M} UTC: "
        + raised.note,
        student=StudentIn(name=f"Unidentified student (video patrol {raised.finding_id})"),
    )


async def file_report(uow: UnitOfWork, *, sealer: Sealer, raised: VideoConcernRaised) -> bool:
    """False when there is nothing to file (filed already, or a school this station lacks)."""
    if await store.get_report(uow.tx, report_id=raised.report_id) is not None:
        return False  # filed by an earlier delivery whose ack was lost
    school = await store.get_school(uow.tx, school_id=raised.school_id)
    if school is None:
        log.warning("video concern %s names an unknown school", raised.finding_id)
        return False
    request = _request(raised)
    report = service.new_report(request, filed_by=raised.officer_id, school=school, sealer=sealer)
    report = report.model_copy(update={"id": raised.report_id, "filed_at": raised.seen_at})
    private = {
        "description": request.description,
        "student": request.student.model_dump(mode="json"),
    }
    await service.record_report(
        uow,
        sealer=sealer,
        report=report,
        private=private,
        idempotency_key=None,
        fingerprint=request_fingerprint(request, key=sealer.fingerprint_key),
    )
    return True
