"""case_tracking's event consumers: a filed report becomes a case entry and two tasks."""

from __future__ import annotations

from services.case_tracking import domain
from services.case_tracking import store as db
from shared.contracts.cases import (
    CaseIdentityFlagged,
    CaseOpened,
    CaseUpdated,
    ReportLinked,
    TaskCreated,
)
from shared.contracts.school import ReportFiled
from shared.events import Envelope, new_id, utcnow
from shared.runtime import Runtime, UnitOfWork
from shared.streams import CASE_TRACKING_REPORTS

SOURCE = "case_tracking"


async def on_report_filed(envelope: Envelope, uow: UnitOfWork) -> None:
    report: ReportFiled = envelope.parse(ReportFiled)
    existing = await db.open_case_for_child(uow.tx, child_ref=report.child_ref)
    intake = domain.take_report(
        existing,
        report,
        now=utcnow(),
        new_case_id="case-" + new_id(),
        new_task_ids=("task-" + new_id(), "task-" + new_id()),
    )
    case = intake.case
    await db.save_case(uow.tx, case=case, opened=intake.opened)
    for task in intake.tasks:
        await db.insert_task(uow.tx, task=task)

    def follow(
        data: CaseOpened | CaseUpdated | ReportLinked | TaskCreated | CaseIdentityFlagged,
        subject: str,
    ) -> Envelope:
        return envelope.follow(data, source=SOURCE, subject=subject)

    if intake.opened:
        opened = CaseOpened(
            case_id=case.id,
            child_ref=case.child_ref,
            school_id=report.school_id,
            risk_level=case.risk_level,
        )
        uow.emit(follow(opened, case.id))
    else:
        updated = CaseUpdated(
            case_id=case.id, report_id=report.report_id, risk_level=case.risk_level
        )
        uow.emit(follow(updated, case.id))
    uow.emit(follow(ReportLinked(report_id=report.report_id, case_id=case.id), report.report_id))
    for task in intake.tasks:
        created = TaskCreated.model_validate(
            task.model_dump(include=set(TaskCreated.model_fields) - {"task_id"})
            | {"task_id": task.id}
        )
        uow.emit(follow(created, task.id))
    if intake.identity_flagged:
        flagged = CaseIdentityFlagged(
            case_id=case.id, report_id=report.report_id, school_id=report.school_id
        )
        uow.emit(follow(flagged, case.id))


def register(runtime: Runtime) -> None:
    runtime.consume(CASE_TRACKING_REPORTS, on_report_filed)
