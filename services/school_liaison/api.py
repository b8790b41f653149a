"""school_liaison's routes (internal: reached through the gateway with an internal token)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, HTTPException, Request, Response

from services.school_liaison import domain
from services.school_liaison import store as db
from services.school_liaison.privacy import Sealer
from shared.contracts.school import ReportCreate, ReportFiled, ReportView, SchoolView
from shared.events import Envelope, new_id, utcnow
from shared.runtime import Runtime
from shared.store import Doc, DuplicateKeyError
from shared.telemetry import current_traceparent
from shared.web import CallerDep, RuntimeDep, field_error

router = APIRouter()
IdempotencyKey = Annotated[str | None, Header(alias="Idempotency-Key")]


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


def _view(report: Doc, sealer: Sealer) -> ReportView:
    private = sealer.open(report["sealed"], record_id=report["id"])
    public = {k: v for k, v in report.items() if k != "sealed"}
    return ReportView.model_validate({**public, **private})


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
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> ReportView:
    if idempotency_key is not None and not 1 <= len(idempotency_key) <= 200:
        raise field_error("header", "Idempotency-Key", "must be 1 to 200 characters")
    school = await db.get_school(rt.store, school_id=body.school_id)
    if school is None:
        raise field_error("body", "school_id", "unknown school")
    if not domain.may_file_for(caller, body.school_id):
        raise HTTPException(403, "only staff of this school may file reports for it")
    sealer = _sealer(request)
    fingerprint = domain.request_fingerprint(body)
    if idempotency_key:
        replay = await _replay(rt, caller.user_id, idempotency_key, fingerprint, sealer)
        if replay is not None:
            response.headers["Idempotent-Replayed"] = "true"
            return replay

    report = _new_report(body, caller.user_id, school, sealer)
    try:
        async with rt.unit_of_work() as uow:
            if idempotency_key:
                await db.insert_idempotency(
                    uow.tx,
                    user_id=caller.user_id,
                    key=idempotency_key,
                    report_id=report["id"],
                    fingerprint=fingerprint,
                    at=report["filed_at"],
                )
            await db.insert_report(uow.tx, report=report)
            uow.emit(_filed_event(report))
    except DuplicateKeyError:
        # A concurrent request with the same key won the race; answer with its report.
        assert idempotency_key is not None
        replay = await _replay(rt, caller.user_id, idempotency_key, fingerprint, sealer)
        if replay is None:
            raise
        response.headers["Idempotent-Replayed"] = "true"
        return replay
    return _view(report, sealer)


async def _replay(
    rt: Runtime, user_id: str, key: str, fingerprint: str, sealer: Sealer
) -> ReportView | None:
    record = await db.get_idempotency(rt.store, user_id=user_id, key=key)
    if record is None:
        return None
    if record["fingerprint"] != fingerprint:
        raise HTTPException(409, "Idempotency-Key was already used with a different request")
    report = await db.get_report(rt.store, report_id=record["report_id"])
    assert report is not None, "idempotency record and report are committed together"
    return _view(report, sealer)


def _new_report(body: ReportCreate, user_id: str, school: Doc, sealer: Sealer) -> Doc:
    report_id = "rep-" + new_id()
    private = {
        "description": body.description,
        "student": body.student.model_dump(mode="json"),
    }
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
        "sealed": sealer.seal(private, record_id=report_id),
    }


def _filed_event(report: Doc) -> Envelope:
    data = ReportFiled.model_validate(
        {k: report[k] for k in ReportFiled.model_fields if k != "report_id"}
        | {"report_id": report["id"]}
    )
    return Envelope.wrap(
        data,
        source="school_liaison",
        subject=report["id"],
        correlation_id=report["id"],
        traceparent=current_traceparent(),
    )


@router.get("/reports/{report_id}", response_model=ReportView)
async def get_report(
    report_id: str, caller: CallerDep, rt: RuntimeDep, request: Request
) -> ReportView:
    report = await db.get_report(rt.store, report_id=report_id)
    if report is None or not domain.may_read_report(
        caller, school_id=report["school_id"], social_org_id=report["social_org_id"]
    ):
        raise HTTPException(404, "report not found")
    return _view(report, _sealer(request))
