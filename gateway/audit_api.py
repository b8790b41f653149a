"""The auditor's view of the audit trail: filtered reads and a chain check. Nobody edits it."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from pydantic import AwareDatetime

from gateway.access import AuditedRoute, CallerDep, policy
from gateway.audit import AuditEntry, AuditLog, VerifyResult
from shared.identity import Role

router = APIRouter(prefix="/v1/audit", tags=["audit"], route_class=AuditedRoute)
AUDITOR = policy(Role.auditor)


def _log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log


# Reading the trail names children too, so the auditor's own reads are recorded.
@router.get(
    "",
    response_model=list[AuditEntry],
    openapi_extra=policy(Role.auditor, audit="read", object_type="audit"),
)
async def audit_entries(
    auditor: CallerDep,
    request: Request,
    child_ref: Annotated[str | None, Query(max_length=80)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    # With a timezone: a bare time is ambiguous (and cannot be compared with the trail's).
    since: AwareDatetime | None = None,
    until: AwareDatetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[AuditEntry]:
    """Newest first. Filter by the child's pseudonymous reference, the actor, and time."""
    return await _log(request).query(
        child_ref=child_ref, actor=actor, since=since, until=until, limit=limit
    )


@router.get("/verify", response_model=VerifyResult, openapi_extra=AUDITOR)
async def verify_chain(auditor: CallerDep, request: Request) -> VerifyResult:
    """Recompute the hash chain: `ok` false and `broken_at` name the first altered entry."""
    return await _log(request).verify()
