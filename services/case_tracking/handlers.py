"""case_tracking's event consumers, one durable per stream: from SCHOOL a filed report becomes
a case entry and tasks and an erased child's sealed notes go with it; a task's timer fires
(this process fires the timers it and its replicas armed: shared/timers.py)."""

from __future__ import annotations

from services.case_tracking import monitoring, notes, service, timers
from services.case_tracking.deadlines import Deadlines
from shared.contracts.cases import FollowUpTimerDue, TaskTimerDue
from shared.contracts.school import ChildErased, ReportFiled
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import CASE_TRACKING_SCHOOL, CASE_TRACKING_TIMERS


async def on_timer(envelope: Envelope, uow: UnitOfWork) -> None:
    if envelope.type == FollowUpTimerDue.TYPE:
        timer = envelope.parse(FollowUpTimerDue)
        await monitoring.follow_up_due(uow, timer=timer, cause=envelope)
    else:
        await timers.fired(uow, timer=envelope.parse(TaskTimerDue), cause=envelope)


async def on_child_erased(envelope: Envelope, uow: UnitOfWork) -> None:
    await notes.erase_child(uow.tx, child_ref=envelope.parse(ChildErased).child_ref)


def register(runtime: Runtime, *, deadlines: Deadlines) -> None:
    async def on_school_event(envelope: Envelope, uow: UnitOfWork) -> None:
        """The durable is sent these two subjects alone (shared/streams.py)."""
        if envelope.type == ChildErased.TYPE:
            await on_child_erased(envelope, uow)
        else:
            report = envelope.parse(ReportFiled)
            await service.take_report(uow, report=report, cause=envelope, deadlines=deadlines)

    runtime.consume(CASE_TRACKING_SCHOOL, on_school_event)
    runtime.consume(CASE_TRACKING_TIMERS, on_timer)
    runtime.fire_timers()
