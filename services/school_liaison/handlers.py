"""school_liaison's event consumers: which case a report became part of; closed cases."""

from __future__ import annotations

from services.school_liaison import service, video_concerns
from services.school_liaison.privacy import Sealer
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.contracts.video_patrol import VideoConcernRaised
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import (
    SCHOOL_LIAISON_CLOSURES,
    SCHOOL_LIAISON_LINKS,
    SCHOOL_LIAISON_VIDEO_CONCERNS,
)


async def on_report_linked(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.link_report(uow, linked=envelope.parse(ReportLinked))


async def on_case_closed(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.start_retention(uow, closed=envelope.parse(CaseClosed))


def register(runtime: Runtime, *, sealer: Sealer) -> None:
    async def on_video_concern(envelope: Envelope, uow: UnitOfWork) -> None:
        raised = envelope.parse(VideoConcernRaised)
        await video_concerns.file_report(uow, sealer=sealer, raised=raised)

    runtime.consume(SCHOOL_LIAISON_LINKS, on_report_linked)
    runtime.consume(SCHOOL_LIAISON_CLOSURES, on_case_closed)
    runtime.consume(SCHOOL_LIAISON_VIDEO_CONCERNS, on_video_concern)
