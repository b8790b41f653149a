"""case_tracking's event consumers: a filed report becomes a case entry and two tasks."""

from __future__ import annotations

from services.case_tracking import service
from shared.contracts.school import ReportFiled
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import CASE_TRACKING_REPORTS


async def on_report_filed(envelope: Envelope, uow: UnitOfWork) -> None:
    await service.take_report(uow, report=envelope.parse(ReportFiled), cause=envelope)


def register(runtime: Runtime) -> None:
    runtime.consume(CASE_TRACKING_REPORTS, on_report_filed)
