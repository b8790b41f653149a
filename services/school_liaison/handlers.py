"""school_liaison's event consumers: which case a report became part of; closed cases."""

from __future__ import annotations

from services.school_liaison import service
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import SCHOOL_LIAISON_CLOSURES, SCHOOL_LIAISON_LINKS


async def on_report_linked(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.link_report(uow, linked=envelope.parse(ReportLinked))


async def on_case_closed(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.start_retention(uow, closed=envelope.parse(CaseClosed))


def register(runtime: Runtime) -> None:
    runtime.consume(SCHOOL_LIAISON_LINKS, on_report_linked)
    runtime.consume(SCHOOL_LIAISON_CLOSURES, on_case_closed)
