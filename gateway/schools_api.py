"""The schools' programme routes at school_liaison: counselling at the liaison school, and
legal-education events with the term plan.

Each route declares its roles in `policy(...)`; those that show or change a child's record
are audited against the child's pseudonym (docs/schools.md).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from fastapi.responses import JSONResponse

from gateway import counsellors
from gateway.access import AuditedRoute, CallerDep, policy
from gateway.api import CASEWORK, ERRORS, SCHOOL, SCHOOL_STAFF, ServicesDep, seg
from gateway.contract import Error
from gateway.pages import Limit, paged, relay_page
from shared.contracts.counselling import (
    CounsellingEntryCreate,
    CounsellingEntryView,
    EntryRemoval,
    SessionRecord,
    SessionSchedule,
    SessionView,
)
from shared.contracts.education import TERM, EducationEventCreate, EducationEventView, TermPlanRow
from shared.identity import Role as R
from shared.paging import AfterParam

router = APIRouter(prefix="/v1", route_class=AuditedRoute)
# Who keeps a school's counselling list: its staff, its officer, its social workers.
COUNSEL = (*SCHOOL_STAFF, R.police_officer, R.social_worker)
CHANGES = {**ERRORS, 409: {"model": Error, "description": "not in a state that allows this"}}
ENTRY_RULES = {
    "body.school_id": SCHOOL,
    "body.child_ref": "a child of the school's with a case; either it or `student`, not both",
}
SESSION_RULES = {
    "body.counsellor_id": "an active police officer or social worker who serves the school",
    "body.counsellor_role": "the counsellor's own role",
}
ENTRY = "counselling_entry"
SESSION = "counselling_session"


@router.post(
    "/counselling/entries",
    status_code=201,
    response_model=CounsellingEntryView,
    tags=["counselling"],
    responses=CHANGES,
    summary="Put a student on a school's counselling list (by details, or a case's child_ref)",
    openapi_extra=policy(*COUNSEL, audit="create", object_type=ENTRY, rules=ENTRY_RULES),
)
async def add_entry(
    body: CounsellingEntryCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison",
        "POST",
        "/counselling/entries",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/counselling/entries",
    response_model=list[CounsellingEntryView],
    tags=["counselling"],
    responses=paged(ERRORS),
    openapi_extra=policy(*CASEWORK, audit="read", object_type=ENTRY),
)
async def list_entries(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    school_id: Annotated[str, Query(min_length=1, max_length=40)],
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """A school's counselling list, oldest entry first, each with the latest state; the
    student's details as the role may see them (none for the desk)."""
    return await relay_page(
        services,
        "school_liaison",
        "/counselling/entries",
        request=request,
        principal=principal,
        params={"school_id": school_id, "limit": limit},
        after=after,
    )


@router.get(
    "/counselling/entries/{entry_id}/sessions",
    response_model=list[SessionView],
    tags=["counselling"],
    responses=paged(ERRORS),
    openapi_extra=policy(*CASEWORK, audit="read", object_type=ENTRY, id_param="entry_id"),
)
async def list_sessions(
    entry_id: str,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """A student's sessions in time order: the state over time (notes not for the desk)."""
    return await relay_page(
        services,
        "school_liaison",
        f"/counselling/entries/{seg(entry_id)}/sessions",
        request=request,
        principal=principal,
        params={"limit": limit},
        after=after,
    )


@router.post(
    "/counselling/entries/{entry_id}/sessions",
    status_code=201,
    response_model=SessionView,
    tags=["counselling"],
    responses=CHANGES,
    openapi_extra=policy(
        *COUNSEL, audit="create", object_type=SESSION, id_param="entry_id", rules=SESSION_RULES
    ),
)
async def schedule_session(
    entry_id: str,
    body: SessionSchedule,
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
) -> JSONResponse:
    """With an active officer whose beat covers the school, or a social worker of the
    organisation serving it (else a 422 naming `counsellor_id`); 409 once off the list."""
    passed = await counsellors.checked(request.app.state.store, body)
    return await services.relay(
        "school_liaison",
        "POST",
        f"/counselling/entries/{seg(entry_id)}/sessions",
        principal=principal,
        json=passed.model_dump(mode="json"),
    )


@router.post(
    "/counselling/entries/{entry_id}/remove",
    response_model=CounsellingEntryView,
    tags=["counselling"],
    responses=CHANGES,
    summary="Take a student off the counselling list (a reason code); retention starts",
    openapi_extra=policy(*COUNSEL, audit="update", object_type=ENTRY, id_param="entry_id"),
)
async def remove_entry(
    entry_id: str, body: EntryRemoval, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    """The entry and its sessions stay readable to those who may see them until retention
    erases the child (docs/schools.md); 409 if the student is off the list already."""
    return await services.relay(
        "school_liaison",
        "POST",
        f"/counselling/entries/{seg(entry_id)}/remove",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/counselling/sessions/{session_id}/record",
    response_model=SessionView,
    tags=["counselling"],
    responses=CHANGES,
    summary="Record a held session; acute risk files a concern report (case and tasks follow)",
    openapi_extra=policy(
        R.police_officer,
        R.social_worker,
        audit="update",
        object_type=SESSION,
        id_param="session_id",
    ),
)
async def record_session(
    session_id: str, body: SessionRecord, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison",
        "POST",
        f"/counselling/sessions/{seg(session_id)}/record",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.post(
    "/counselling/sessions/{session_id}/missed",
    response_model=SessionView,
    tags=["counselling"],
    responses=CHANGES,
    summary="The student did not come: the counsellor is alerted",
    openapi_extra=policy(*COUNSEL, audit="update", object_type=SESSION, id_param="session_id"),
)
async def session_missed(
    session_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison",
        "POST",
        f"/counselling/sessions/{seg(session_id)}/missed",
        principal=principal,
    )


# --- legal education and drills --------------------------------------------------------------
# Who takes part: the officer, social work, grid workers and volunteers; the school confirms.
EDUCATORS = (R.police_officer, R.social_worker, R.supervisor)
EDU_READERS = (*COUNSEL, R.grid_worker, R.safety_volunteer, R.dispatcher, R.supervisor)


@router.post(
    "/education-events",
    status_code=201,
    response_model=EducationEventView,
    tags=["education"],
    responses=ERRORS,
    summary="Record a legal-education event or drill held at a school",
    openapi_extra=policy(*EDUCATORS, rules={"body.school_id": SCHOOL}),
)
async def record_education_event(
    body: EducationEventCreate, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison",
        "POST",
        "/education-events",
        principal=principal,
        json=body.model_dump(mode="json"),
    )


@router.get(
    "/education-events",
    response_model=list[EducationEventView],
    tags=["education"],
    responses=paged(ERRORS),
    openapi_extra=policy(*EDU_READERS),
)
async def education_events(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    school_id: Annotated[str | None, Query(min_length=1, max_length=40)] = None,
    term: Annotated[str | None, Query(pattern=TERM, description="e.g. 2026-spring")] = None,
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """By date: the events of the caller's schools (the desk: all), or of one of them."""
    return await relay_page(
        services,
        "school_liaison",
        "/education-events",
        request=request,
        principal=principal,
        params={"school_id": school_id, "term": term, "limit": limit},
        after=after,
    )


@router.post(
    "/education-events/{event_id}/confirm",
    response_model=EducationEventView,
    tags=["education"],
    responses=CHANGES,
    summary="The school confirms an event held at it",
    openapi_extra=policy(*SCHOOL_STAFF),
)
async def confirm_education_event(
    event_id: str, principal: CallerDep, services: ServicesDep
) -> JSONResponse:
    return await services.relay(
        "school_liaison",
        "POST",
        f"/education-events/{seg(event_id)}/confirm",
        principal=principal,
    )


@router.get(
    "/education-plan",
    response_model=list[TermPlanRow],
    tags=["education"],
    responses=paged(ERRORS),
    openapi_extra=policy(*EDU_READERS),
)
async def education_plan(
    request: Request,
    principal: CallerDep,
    services: ServicesDep,
    term: Annotated[str, Query(pattern=TERM, description="e.g. 2026-spring")],
    limit: Limit = 100,
    after: AfterParam = None,
) -> Response:
    """Each school the caller sees, by id: the term's topics so far, those not yet had."""
    return await relay_page(
        services,
        "school_liaison",
        "/education-plan",
        request=request,
        principal=principal,
        params={"term": term, "limit": limit},
        after=after,
    )
