"""The auditor's view of the audit trail: filtered pages and a chain check. Nobody edits it."""

from __future__ import annotations

from typing import Annotated, Literal

import nats.errors
from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response

from gateway.access import AuditedRoute, authorized, policy
from gateway.audit import AuditEntry, AuditLog
from gateway.audit_check import VerifyResult, verify
from shared.events import Bound
from shared.identity import Role
from shared.paging import LINK_RESPONSE, AfterParam, parse_after, set_next_link

router = APIRouter(
    prefix="/v1/audit",
    tags=["audit"],
    route_class=AuditedRoute,
    # Every route here is for the policy's roles only, whether it reads the caller or not.
    dependencies=[Depends(authorized)],
)
AUDITOR = policy(Role.auditor)
Action = Literal[
    "read", "create", "update", "export", "login", "permission_change", "privileged_grant", "erase"
]
Outcome = Literal["allowed", "denied", "not_found", "failed", "error"]
# A time without a zone would be a guess: it is a 422 naming the parameter.
Moment = Annotated[Bound | None, Query(description="ISO 8601 with a zone offset")]


def _log(request: Request) -> AuditLog:
    log: AuditLog = request.app.state.audit
    return log


# Reading the trail names children too, so the auditor's own reads are recorded.
@router.get(
    "",
    response_model=list[AuditEntry],
    responses={200: LINK_RESPONSE, 422: {"description": "a bad filter or page cursor"}},
    openapi_extra=policy(Role.auditor, audit="read", object_type="audit"),
)
async def audit_entries(
    request: Request,
    response: Response,
    child_ref: Annotated[str | None, Query(max_length=80)] = None,
    actor: Annotated[str | None, Query(max_length=120)] = None,
    action: Action | None = None,
    outcome: Outcome | None = None,
    since: Moment = None,
    until: Moment = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    after: AfterParam = None,
) -> list[AuditEntry]:
    """Newest first. Filter by the child's pseudonymous reference, the actor, action, outcome
    and time; the next page is in the `Link` header (`rel="next"`). With filters combined, a
    page reads at most 1,000 entries of the trail: it may hold fewer than `limit`, even none,
    and still link a next page. The list is complete once no next page is linked."""
    entries, cursor = await _log(request).page(
        child_ref=child_ref,
        actor=actor,
        action=action,
        outcome=outcome,
        since=since,
        until=until,
        limit=limit,
        after=parse_after(after),
    )
    set_next_link(response, request, cursor)
    return entries


@router.get(
    "/verify",
    response_model=VerifyResult,
    responses={503: {"description": "the checkpoint stream cannot be read now; retry"}},
    openapi_extra=AUDITOR,
)
async def verify_chains(
    request: Request,
    full: Annotated[bool, Query(description="recompute every chain from its start")] = False,
) -> VerifyResult:
    """Check every chain against its newest signed checkpoint, from that checkpoint on
    (`full`: from the first entry). `ok` false: each broken chain names the first entry
    (`seq`) that is `missing`, `altered` or `truncated`, or a `forged` checkpoint."""
    try:
        return await verify(_log(request), js=request.app.state.bus.js, full=full)
    except (nats.errors.Error, RuntimeError) as exc:  # NATS away: no checkpoints to compare
        raise HTTPException(
            503, "audit checkpoints unavailable", headers={"Retry-After": "5"}
        ) from exc
