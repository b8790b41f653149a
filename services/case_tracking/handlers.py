"""case_tracking's event consumers: a filed report becomes a case entry and tasks; a task's
timer fires; an erased child's sealed notes go with it."""

from __future__ import annotations

from services.case_tracking import monitoring, notes, service, timers
from services.case_tracking.deadlines import Deadlines
from shared.contracts.cases import FollowUpTimerDue, TaskTimerDue
from shared.contracts.school import ChildErased, ReportFiled
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import CASE_TRACKING_ERASURES, CASE_TRACKING_REPORTS, CASE_TRACKING_TIMERS


async def on_timer(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == FollowUpTimerDue.TYPE:
        timer = envelope.parse(FollowUpTimerDue)
        await monitoring.follow_up_due(uow, timer=timer, cause=envelope)
    else:
        await timers.fired(uow, timer=envelope.parse(TaskTimerDue), cause=envelope)


async def on_child_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    await notes.erase_child(uow.tx, child_ref=envelope.parse(ChildErased).child_ref)


def register(runtime: Runtime, *, deadlines: Deadlines) -> None:
    async def on_report_filed(envelope: Envelope, uow: UnitOfWork) -> None:
        report = envelope.parse(ReportFiled)
        await service.take_report(uow, report=report, cause=envelope, deadlines=deadlines)

    runtime.consume(CASE_TRACKING_REPORTS, on_report_filed)
    runtime.consume(CASE_TRACKING_TIMERS, on_timer)
    runtime.consume(CASE_TRACKING_ERASURES, on_child_erased)
