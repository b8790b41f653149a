"""case_tracking's use cases for a case's outcomes: dispositions (who, when, a sealed note;
in the chronology, counted by kind) and the supervisor's risk review (up or down, with a
reason the chronology keeps)."""

from __future__ import annotations

from pydantic import BaseModel

from services.case_tracking import ledger, store
from services.case_tracking.monitoring import CASEWORK
from services.case_tracking.notes import NoteSealer
from services.case_tracking.service import visible_case
from shared.contracts.cases import (
    CaseRiskReviewed,
    CaseStatus,
    DispositionKind,
    DispositionRecord,
    DispositionRecorded,
    RiskReview,
)
from shared.events import Timestamp, new_id, utcnow
from shared.identity import Principal, Role
from shared.runtime import UnitOfWork
from shared.store import Reader
from shared.usecases import Conflict, NotAllowed, Transactor

SOURCE = "case_tracking"


class Disposition(BaseModel):
    id: str
    case_id: str
    child_ref: str
    kind: DispositionKind
    at: Timestamp
    by: str
    note_sealed: str | None  # notes.py; None once erased


async def record_disposition(
    rt: Transactor, *, caller: Principal, case_id: str, body: DispositionRecord, notes: NoteSealer
) -> Disposition:
    async def work(uow: UnitOfWork) -> Disposition:
        case = await visible_case(uow.tx, caller=caller, case_id=case_id)
        if caller.role not in CASEWORK:
            raise NotAllowed("only casework records dispositions")
        now, disposition_id = utcnow(), "disp-" + new_id()
        sealed = await notes.seal(
            uow.tx, case=case, record_id=disposition_id, text=body.note, now=now
        )
        disposition = Disposition(
            id=disposition_id,
            case_id=case.id,
            child_ref=case.child_ref,
            kind=body.kind,
            at=now,
            by=caller.user_id,
            note_sealed=sealed,
        )
        text = f"Disposition by {caller.user_id}: {body.kind.value}"
        case = ledger.noted(case, kind="disposition", text=text, now=now)
        await store.insert_disposition(uow.tx, doc=disposition.model_dump(mode="json"))
        await store.save_case(uow.tx, case=case, opened=False)
        event = DispositionRecorded(
            disposition_id=disposition_id, case_id=case.id, kind=body.kind, by=caller.user_id
        )
        uow.announce(event, source=SOURCE, subject=case.id, correlation_id=case.id)
        return disposition

    return await rt.transact(work)


async def count_dispositions(port: Reader) -> dict[DispositionKind, int]:
    return {kind: await store.count_dispositions(port, kind=kind.value) for kind in DispositionKind}


async def review_risk(rt: Transactor, *, caller: Principal, case_id: str, body: RiskReview) -> None:
    async def work(uow: UnitOfWork) -> None:
        case = await visible_case(uow.tx, caller=caller, case_id=case_id)
        if caller.role is not Role.supervisor:
            raise NotAllowed("only a supervisor reviews a case's risk")
        if case.status is CaseStatus.closed:
            raise Conflict("the case is closed")
        previous = case.risk_level
        if body.risk_level is previous:
            raise Conflict(f"the case's risk is {previous.value} already")
        now = utcnow()
        text = f"Risk {previous.value} → {body.risk_level.value} by {caller.user_id}: {body.reason}"
        case = ledger.noted(case, kind="risk_reviewed", text=text, now=now)
        case = case.model_copy(update={"risk_level": body.risk_level})
        await store.save_case(uow.tx, case=case, opened=False)
        event = CaseRiskReviewed(
            case_id=case.id, previous=previous, risk_level=body.risk_level, by=caller.user_id
        )
        uow.announce(event, source=SOURCE, subject=case.id, correlation_id=case.id)

    await rt.transact(work)
