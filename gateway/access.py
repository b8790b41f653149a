"""Who may call what, declared once per route, enforced and audited from that declaration.

Every public route carries `openapi_extra=policy(...)`: the roles that may call it and, for
routes that touch a child's record, what to write in the audit trail. `authorized` enforces
the roles; `AuditedRoute` writes the audit entries after the handler ran, whatever its
outcome. The authorization-matrix and audit-coverage tests read the same declarations.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Header, HTTPException, Request, Response
from fastapi.routing import APIRoute

from gateway.audit import AuditLog, Event, outcome_of
from gateway.auth import current_principal
from shared.errors import client_error
from shared.identity import Principal, Role
from shared.telemetry import current_trace_id

ALL_ROLES = tuple(Role)
ROLES_KEY = "x-hulei-roles"
AUDIT_KEY = "x-hulei-audit"
RULES_KEY = "x-hulei-rules"
PURPOSE_HEADER = "X-Hulei-Purpose"
PURPOSE_MAX = 200
PURPOSE_DOC = (
    "Why the caller looks at this record (e.g. a case conference); stored with the audit "
    f"entry. 1 to {PURPOSE_MAX} printable characters, UTF-8 (no control characters)."
)
# The rule in the document: something visible first, no control characters; spaces and tabs
# after it are not part of the value (RFC 9110 5.5) and are dropped. `_purpose` checks the rest.
PURPOSE_PATTERN = r"^[^\s\x00-\x1f\x7f](?:[^\x00-\x1f\x7f]*[^\s\x00-\x1f\x7f])?[ \t]*$"

# Who gets a child's case in full (its chronology, its ledger, its outcomes): the agencies and
# the duty desk. School staff get their own reports' feedback only.
CASE_AGENCIES = (Role.police_officer, Role.social_worker, Role.dispatcher, Role.supervisor)


def policy(
    *roles: Role,
    audit: str | None = None,
    object_type: str | None = None,
    id_param: str | None = None,
    rules: dict[str, str] | None = None,
) -> dict[str, Any]:
    """`audit`: the action recorded (read, create, update) for each child the answer names.

    `rules`: what the handler refuses with a 422 although the schema admits it, by where
    (`"body.school_id": "a school the caller files for"`): references to other objects and
    rules between fields, which JSON Schema cannot say. The document lists them."""
    extra: dict[str, Any] = {ROLES_KEY: [r.value for r in roles]}
    if rules:
        extra[RULES_KEY] = rules
    if audit:
        extra[AUDIT_KEY] = {"action": audit, "object_type": object_type, "id_param": id_param}
    return extra


def _policy_of(request: Request) -> dict[str, Any]:
    route = request.scope.get("route")
    return getattr(route, "openapi_extra", None) or {}


def _purpose(request: Request) -> str | None:
    """The declared purpose, bounded: it is stored in the audit trail for years."""
    raw = request.headers.get(PURPOSE_HEADER)
    if raw is None:
        return None
    try:
        text = raw.encode("latin-1").decode("utf-8")  # headers arrive as latin-1
    except UnicodeError:
        text = ""
    as_documented = re.match(PURPOSE_PATTERN, text) is not None
    text = text.strip(" \t")
    if not as_documented or not 1 <= len(text) <= PURPOSE_MAX or not text.isprintable():
        rule = f"must be 1 to {PURPOSE_MAX} printable characters (UTF-8)"
        raise HTTPException(422, [client_error(["header", PURPOSE_HEADER], rule, "value_error")])
    return text


async def authorized(
    request: Request,
    principal: Annotated[Principal, Depends(current_principal)],
    _purpose_doc: Annotated[
        str | None,
        Header(
            alias=PURPOSE_HEADER,
            description=PURPOSE_DOC,
            # In the document only: the raw header is latin-1 text of UTF-8 bytes, so `_purpose`
            # checks both on the decoded text (200 characters, not bytes).
            json_schema_extra={"pattern": PURPOSE_PATTERN, "maxLength": PURPOSE_MAX},
        ),
    ] = None,  # declared for the OpenAPI document; `_purpose` checks the raw header
) -> Principal:
    allowed = _policy_of(request).get(ROLES_KEY)
    if allowed is None:  # a route without a declaration is closed, never open
        raise HTTPException(403, "this endpoint has no access policy")
    request.state.purpose = _purpose(request)
    request.state.principal = principal
    if principal.role.value not in allowed:
        raise HTTPException(403, f"role {principal.role.value} may not do this")
    await request.app.state.rate_limiter.check(principal.user_id)
    return principal


CallerDep = Annotated[Principal, Depends(authorized)]


Subject = tuple[str | None, str | None]  # (child_ref, case_id)


def _subjects(data: Any) -> list[Subject]:
    """The children a JSON answer (a record or a list) is about: by child_ref, or, for answers
    that name only a case (notifications, welfare checks), by the child's case."""
    items = [i for i in (data if isinstance(data, list) else [data]) if isinstance(i, dict)]
    found: list[Subject] = []
    for item in items:
        if item.get("child_ref"):
            found.append((str(item["child_ref"]), None))
        elif item.get("case_id"):
            found.append((None, str(item["case_id"])))
    return list(dict.fromkeys(found)) or [(None, None)]


def _created_id(data: Any) -> str | None:
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
    subjects: list[Subject] = [(None, None)]
    if status < 400:
        try:
            data = json.loads(body)  # once, for both the subjects and a created id
        except ValueError:
            data = None
        subjects = _subjects(data)
        if object_id is None:
            object_id = _created_id(data)
    log: AuditLog = request.app.state.audit
    # What every entry of this answer shares, worked out once: a page names tens of children.
    shared = {
        "action": spec["action"],
        "purpose": getattr(request.state, "purpose", None),
        "outcome": outcome_of(status),
        "status": status,
        "trace_id": current_trace_id(),
    }
    await log.append(
        *(
            Event.by(
                principal,
                # An answer that names a case but not the child is recorded against the case.
                object_type="case" if case_id else spec["object_type"],
                object_id=case_id or object_id,
                child_ref=ref,
                **shared,
            )
            for ref, case_id in subjects
        )
    )
