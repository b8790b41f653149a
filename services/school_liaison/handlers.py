"""school_liaison's event consumers, one durable per stream: from CASES which case a report
became part of and closed cases; from PATROL students seen at risk on the video patrol."""

from __future__ import annotations

from services.school_liaison import service, video_concerns
from services.school_liaison.privacy import Sealer
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.contracts.video_patrol import VideoConcernRaised
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import SCHOOL_LIAISON_CASES, SCHOOL_LIAISON_VIDEO_CONCERNS


async def on_case_event(envelope: Envelope, uow: UnitOfWork) -> None:
    """The durable is sent these two subjects alone (shared/streams.py)."""
    if envelope.type == CaseClosed.TYPE:
        await service.start_retention(uow, closed=envelope.parse(CaseClosed))
    else:
        await service.link_report(uow, linked=envelope.parse(ReportLinked))


def register(runtime: Runtime, *, sealer: Sealer) -> None:
    async def on_video_concern(envelope: Envelope, uow: UnitOfWork) -> None:
        raised = envelope.parse(VideoConcernRaised)
        await video_concerns.file_report(uow, sealer=sealer, raised=raised)

    runtime.consume(SCHOOL_LIAISON_CASES, on_case_event)
    runtime.consume(SCHOOL_LIAISON_VIDEO_CONCERNS, on_video_concern)
