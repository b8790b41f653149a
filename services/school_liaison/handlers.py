"""school_liaison's event consumers: which case a report became part of; closed cases."""

from __future__ import annotations

from services.school_liaison import domain
from services.school_liaison import store as db
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import SCHOOL_LIAISON_CLOSURES, SCHOOL_LIAISON_LINKS


async def on_report_linked(envelope: Envelope, uow: UnitOfWork) -> None:
    event: ReportLinked = envelope.parse(ReportLinked)
    await db.set_report_case(uow.tx, report_id=event.report_id, case_id=event.case_id)


async def on_case_closed(envelope: Envelope, uow: UnitOfWork) -> None:
    """The retention period of the child's details starts (retention.py erases when due)."""
    event: CaseClosed = envelope.parse(CaseClosed)
    pending = await db.get_pending_erasure(uow.tx, child_ref=event.child_ref)
    updated = domain.record_closure(
        pending, child_ref=event.child_ref, case_id=event.case_id, closed_at=event.closed_at
    )
    await db.put_pending_erasure(uow.tx, pending=updated)


def register(runtime: Runtime) -> None:
    runtime.consume(SCHOOL_LIAISON_LINKS, on_report_linked)
    runtime.consume(SCHOOL_LIAISON_CLOSURES, on_case_closed)
