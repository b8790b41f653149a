"""school_liaison's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Header, HTTPException, Request
from fastapi.responses import JSONResponse

from services.school_liaison import domain, vault
from services.school_liaison import store as db
from services.school_liaison.privacy import Sealer
from shared.contracts.school import ReportCreate, ReportFiled, ReportView, SchoolView
from shared.events import new_id, utcnow
from shared.identity import Principal
from shared.runtime import Runtime, UnitOfWork
from shared.store import Doc, DuplicateKeyError, Writer
from shared.web import CallerDep, RuntimeDep, field_error

router = APIRouter()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]
# A lost race for a new child's key costs one retry; more than a few means something else.
KEY_RACE_ATTEMPTS = 3


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


async def _answer(
    rt: Runtime,
    sealer: Sealer,
    caller: Principal,
    report: Doc,
    *,
    private: dict[str, Any] | None = None,
    status_code: int = 200,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """The report shaped for the caller. A JSONResponse, not a model, so absent stays absent."""
    disclosure = domain.report_disclosure(
        caller, school_id=report["school_id"], social_org_id=report["social_org_id"]
    )
    if disclosure is None:
        raise HTTPException(404, "report not found")
    if private is None and disclosure is not domain.Disclosure.minimal:
        # Opened only for a role that will see some of it.
        private = await vault.open_report(rt.store, sealer, report)
    body = domain.shape_report(report, private, disclosure)
    return JSONResponse(body, status_code=status_code, headers=headers)


@router.get("/schools", response_model=list[SchoolView])
async def list_schools(caller: CallerDep, rt: RuntimeDep) -> list[Doc]:
    schools = await db.list_schools(rt.store)
    return [
        s
        for s in schools
        if domain.may_see_school(caller, school_id=s["id"], social_org_id=s["social_org_id"])
    ]


@router.post("/reports", status_code=201, response_model=ReportView)
async def file_report(
    body: ReportCreate,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    idempotency_key: IdempotencyKey = None,
) -> JSONResponse:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise field_error("header", "Idempotency-Key", "must be 1 to 200 characters")
    school = await db.get_school(rt.store, school_id=body.school_id)
    if school is None:
        raise field_error("body", "school_id", "unknown school")
    if not domain.may_file_for(caller, body.school_id):
        raise HTTPException(403, "only staff of this school may file reports for it")
    sealer = _sealer(request)
    fingerprint = domain.request_fingerprint(body, key=sealer.fingerprint_key)
    if idempotency_key:
        replay = await _replay(rt, caller, idempotency_key, fingerprint, sealer)
        if replay is not None:
            return replay

    report = _new_report(body, caller.user_id, school, sealer)
    private = {"description": body.description, "student": body.student.model_dump(mode="json")}
    try:
        await _commit(rt, sealer, report, private, idempotency_key, fingerprint)
    except DuplicateKeyError:
        # A concurrent request with the same key won the race; answer with its report.
        assert idempotency_key is not None
        replay = await _replay(rt, caller, idempotency_key, fingerprint, sealer)
        if replay is None:
            raise
        return replay
    return await _answer(rt, sealer, caller, report, private=private, status_code=201)


async def _commit(
    rt: Runtime,
    sealer: Sealer,
    report: Doc,
    private: dict[str, Any],
    idempotency_key: str | None,
    fingerprint: str,
) -> None:
    """Report, child key (if new), idempotency record and event in one transaction."""

    async def work(uow: UnitOfWork) -> None:
        if idempotency_key:
            await db.insert_idempotency(
                uow.tx,
                user_id=report["filed_by"],
                key=idempotency_key,
                report_id=report["id"],
                fingerprint=fingerprint,
                at=report["filed_at"],
            )
        now = datetime.fromisoformat(report["filed_at"])
        sealed = await _seal(uow.tx, sealer, report=report, private=private, now=now)
        await db.insert_report(uow.tx, report=sealed)
        # The child's details are needed again: a pending erasure is off.
        pending = await db.get_pending_erasure(uow.tx, child_ref=report["child_ref"])
        if pending is not None:
            await db.put_pending_erasure(uow.tx, pending=domain.cancel_erasure(pending))
        report_id = report["id"]
        uow.announce(
            _filed(sealed), source="school_liaison", subject=report_id, correlation_id=report_id
        )

    for attempt in range(KEY_RACE_ATTEMPTS):
        try:
            await rt.transact(work)
            return
        except vault.ChildKeyRace:
            if attempt == KEY_RACE_ATTEMPTS - 1:
                raise


async def _seal(
    tx: Writer, sealer: Sealer, *, report: Doc, private: dict[str, Any], now: datetime
) -> Doc:
    """The report sealed, and marked when its identity differs from the child's sealed one."""
    # Sealing first settles the child's key (and a race for it), so the comparison sees every
    # report committed under that key.
    sealed = await vault.seal_report(tx, sealer, report=report, private=private, now=now)
    earlier = await vault.sealed_students(tx, sealer, child_ref=report["child_ref"])
    differs = domain.identity_differs(domain.sealed_identity(earlier), private["student"])
    return {**sealed, "identity_mismatch": differs}


async def _replay(
    rt: Runtime, caller: Principal, key: str, fingerprint: str, sealer: Sealer
) -> JSONResponse | None:
    record = await db.get_idempotency(rt.store, user_id=caller.user_id, key=key)
    if record is None:
        return None
    if record["fingerprint"] != fingerprint:
        raise HTTPException(409, "Idempotency-Key was already used with a different request")
    report = await db.get_report(rt.store, report_id=record["report_id"])
    assert report is not None, "idempotency record and report are committed together"
    return await _answer(
        rt, sealer, caller, report, status_code=201, headers={"Idempotent-Replayed": "true"}
    )


def _new_report(body: ReportCreate, user_id: str, school: Doc, sealer: Sealer) -> Doc:
    """The report's public part; the private part is sealed in the transaction (`_commit`)."""
    report_id = "rep-" + new_id()
    return {
        "id": report_id,
        "school_id": body.school_id,
        "category": body.category.value,
        "severity": domain.derive_severity(
            body.category, given=body.severity, immediate_danger=body.immediate_danger
        ).value,
        "immediate_danger": body.immediate_danger,
        "child_ref": sealer.child_ref(body.student, school_id=body.school_id),
        "community_officer_id": school["community_officer_id"],
        "social_org_id": school["social_org_id"],
        "case_id": None,
        "filed_by": user_id,
        "filed_at": utcnow().isoformat(),
    }


def _filed(report: Doc) -> ReportFiled:
    return ReportFiled.model_validate(
        {k: report[k] for k in ReportFiled.model_fields if k != "report_id"}
        | {"report_id": report["id"]}
    )


@router.get("/reports/{report_id}", response_model=ReportView)
async def get_report(
    report_id: str, caller: CallerDep, rt: RuntimeDep, request: Request
) -> JSONResponse:
    report = await db.get_report(rt.store, report_id=report_id)
    if report is None:
        raise HTTPException(404, "report not found")
    return await _answer(rt, _sealer(request), caller, report)
