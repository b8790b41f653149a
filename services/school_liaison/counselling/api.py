"""Counselling's internal routes (the gateway's /v1/counselling/... relays to them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from pydantic import BaseModel

from services.school_liaison.counselling import domain, service, sessions
from services.school_liaison.counselling.domain import Entry, Session
from services.school_liaison.domain import Disclosure
from services.school_liaison.privacy import Sealer
from shared.contracts.counselling import (
    CheckedSchedule,
    CounsellingEntryCreate,
    CounsellingEntryView,
    EntryRemoval,
    SessionRecord,
    SessionView,
)
from shared.paging import AfterParam, parse_after, set_next_link
from shared.store import Cursor
from shared.web import CallerDep, RuntimeDep

router = APIRouter(prefix="/counselling")
Limit = Annotated[int, Query(ge=1, le=500)]


def _sealer(request: Request) -> Sealer:
    sealer: Sealer = request.app.state.sealer
    return sealer


def entry_view(entry: Entry, shown: service.Shown) -> CounsellingEntryView:
    student = domain.shape_student((shown.opened or {}).get("student"), shown.level)
    return CounsellingEntryView.model_validate(entry.model_dump() | {"student": student})


def session_view(session: Session, shown: service.Shown) -> SessionView:
    note = (shown.opened or {}).get("note") if domain.sees_notes(shown.level) else None
    return SessionView.model_validate(session.model_dump() | {"note": note})


def _json(view: CounsellingEntryView | SessionView, status: int = 200) -> Response:
    # exclude_none: what a role does not see is absent, not null.
    body = view.model_dump_json(exclude_none=True)
    return Response(body, status_code=status, media_type="application/json")


def _page(request: Request, views: Sequence[BaseModel], cursor: Cursor | None) -> Response:
    body = "[" + ",".join(v.model_dump_json(exclude_none=True) for v in views) + "]"
    response = Response(body, media_type="application/json")
    set_next_link(response, request, cursor)
    return response


@router.post("/entries", status_code=201)
async def add_entry(
    body: CounsellingEntryCreate, caller: CallerDep, rt: RuntimeDep, request: Request
) -> Response:
    entry, opened = await service.add_entry(rt, sealer=_sealer(request), caller=caller, body=body)
    level = domain.disclosure(caller, school_id=entry.school_id, social_org_id=entry.social_org_id)
    shown = service.Shown(level or Disclosure.minimal, opened)
    return _json(entry_view(entry, shown), 201)


@router.post("/entries/{entry_id}/remove")
async def remove_entry(
    entry_id: str, body: EntryRemoval, caller: CallerDep, rt: RuntimeDep
) -> Response:
    entry = await service.remove_entry(rt, caller=caller, entry_id=entry_id, body=body)
    # The answer names the child for the audit; the details are not repeated.
    return _json(entry_view(entry, service.Shown(Disclosure.minimal)))


@router.get("/entries")
async def list_entries(
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    school_id: Annotated[str, Query(min_length=1, max_length=40)],
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await service.list_entries(
        rt.store,
        sealer=_sealer(request),
        caller=caller,
        school_id=school_id,
        limit=limit,
        after=parse_after(after),
    )
    return _page(request, [entry_view(e, s) for e, s in found], cursor)


@router.get("/entries/{entry_id}/sessions")
async def list_sessions(
    entry_id: str,
    caller: CallerDep,
    rt: RuntimeDep,
    request: Request,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    found, cursor = await sessions.sessions_of(
        rt.store,
        sealer=_sealer(request),
        caller=caller,
        entry_id=entry_id,
        limit=limit,
        after=parse_after(after),
    )
    return _page(request, [session_view(s, shown) for s, shown in found], cursor)


@router.post("/entries/{entry_id}/sessions", status_code=201)
async def schedule(
    entry_id: str, body: CheckedSchedule, caller: CallerDep, rt: RuntimeDep
) -> Response:
    session = await sessions.schedule(
        rt, caller=caller, entry_id=entry_id, body=body, counsellor=body.counsellor
    )
    return _json(session_view(session, service.Shown(Disclosure.minimal)), 201)


@router.post("/sessions/{session_id}/record")
async def record(
    session_id: str, body: SessionRecord, caller: CallerDep, rt: RuntimeDep, request: Request
) -> Response:
    session, shown = await sessions.record(
        rt, sealer=_sealer(request), caller=caller, session_id=session_id, body=body
    )
    return _json(session_view(session, shown))


@router.post("/sessions/{session_id}/missed")
async def missed(session_id: str, caller: CallerDep, rt: RuntimeDep) -> Response:
    session = await sessions.missed(rt, caller=caller, session_id=session_id)
    return _json(session_view(session, service.Shown(Disclosure.minimal)))
