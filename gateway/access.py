"""Who may call what, declared once per route, enforced and audited from that declaration.

Every public route carries `openapi_extra=policy(...)`: the roles that may call it and, for
routes that touch a child's record, what to write in the audit trail. `authorized` enforces
the roles; `AuditedRoute` writes the audit entries after the handler ran, whatever its
outcome. The authorization-matrix and audit-coverage tests read the same declarations.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, HTTPException, Request, Response
from fastapi.routing import APIRoute

from gateway.audit import AuditLog, Event, outcome_of
from gateway.auth import current_principal
from shared.identity import Principal, Role
from shared.telemetry import current_trace_id

ALL_ROLES = tuple(Role)
ROLES_KEY = "x-hulei-roles"
AUDIT_KEY = "x-hulei-audit"
PURPOSE_HEADER = "X-Hulei-Purpose"


def policy(
    *roles: Role,
    audit: str | None = None,
    object_type: str | None = None,
    id_param: str | None = None,
) -> dict[str, Any]:
    """`audit`: the action recorded (read, create, update) for each child the answer names."""
    extra: dict[str, Any] = {ROLES_KEY: [r.value for r in roles]}
    if audit:
        extra[AUDIT_KEY] = {"action": audit, "object_type": object_type, "id_param": id_param}
    return extra


def _policy_of(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    return getattr(route, "openapi_extra", None) or {}


async def authorized(
    request: Request, principal: Annotated[Principal, Depends(current_principal)]
) -> Principal:
    allowed = _policy_of(request).get(ROLES_KEY)
    if allowed is None:  # a route without a declaration is closed, never open
        raise HTTPException(403, "this endpoint has no access policy")
    request.state.principal = principal
    if principal.role.value not in allowed:
        raise HTTPException(403, f"role {principal.role.value} may not do this")
    await request.app.state.rate_limiter.check(principal.user_id)
    return principal


CallerDep = Annotated[Principal, Depends(authorized)]


def _child_refs(body: bytes) -> list[str | None]:
    """The children a JSON answer is about (a record or a list of records)."""
    try:
        data = json.loads(body)
    except ValueError:
        return [None]
    items = data if isinstance(data, list) else [data]
    refs = [i.get("child_ref") for i in items if isinstance(i, dict) and i.get("child_ref")]
    return list(dict.fromkeys(refs)) or [None]


def _created_id(body: bytes) -> str | None:
    try:
        data = json.loads(body)
    except ValueError:
        return None
    return str(data["id"]) if isinstance(data, dict) and "id" in data else None


class AuditedRoute(APIRoute):
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        spec = (self.openapi_extra or {}).get(AUDIT_KEY)
        if spec is None:
            return handler

        async def audited(request: Request) -> Response:
            try:
                response = await handler(request)
            except HTTPException as exc:
                await _record(request, spec, exc.status_code, b"")
                raise
            await _record(request, spec, response.status_code, bytes(response.body))
            return response

        return audited


async def _record(request: Request, spec: dict[str, Any], status: int, body: bytes) -> None:
    principal: Principal | None = getattr(request.state, "principal", None)
    if principal is None:
        return  # not authenticated: nothing about a child was shown or changed
    object_id = request.path_params.get(spec["id_param"]) if spec["id_param"] else None
    refs = _child_refs(body) if status < 400 else [None]
    if object_id is None and status < 400:
        object_id = _created_id(body)
    log: AuditLog = request.app.state.audit
    await log.append(
        *(
            Event.by(
                principal,
                action=spec["action"],
                object_type=spec["object_type"],
                object_id=object_id,
                child_ref=ref,
                purpose=request.headers.get(PURPOSE_HEADER),
                outcome=outcome_of(status),
                status=status,
                trace_id=current_trace_id(),
            )
            for ref in refs
        )
    )
