"""school_liaison's event consumers: learn which case a report became part of."""

from __future__ import annotations

from services.school_liaison import store as db
from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import SCHOOL_LIAISON_LINKS


async def on_report_linked(envelope: Envelope, uow: UnitOfWork) -> None:
    event: ReportLinked = envelope.parse(ReportLinked)
    await db.set_report_case(uow.tx, report_id=event.report_id, case_id=event.case_id)


def register(runtime: Runtime) -> None:
    runtime.consume(SCHOOL_LIAISON_LINKS, on_report_linked)
