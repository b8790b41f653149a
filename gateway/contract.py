"""The OpenAPI contract, exact: every status an operation can answer, derived from its route.

Partner systems generate clients from `/openapi.json`, so the document must name every status
the gateway can return, each with its body's schema. Most of them follow from what a route
declares, not from its handler, so they are added here in one place and a new route cannot
forget them:

- roles in `policy(...)`: 401 (no or stale token), 403 (another role), 429 (rate limit);
- a parameter or a body (every authorized route takes `X-Hulei-Purpose`): 422 naming it;
- a path parameter: 404 (no such object, or not the caller's to see);
- POST, PUT, PATCH: 413 (body over the limit), 415 (not JSON; the token endpoint: a form);
- every operation: 503 with `Retry-After` (a store, the bus or a service away).

What only the handler knows (409 for a state conflict, 410 for a lost stream position) the
route declares in its own `responses=`; every error answer gets the `Error` body schema.
A value the schema admits but the handler refuses (an unknown school, an end before its
start: what JSON Schema cannot say) is a 422 only where `policy(rules=...)` declares it; the
document lists those rules in `x-hulei-rules` and the 422's description (a page cursor's is
derived).
Unsupported methods answer 405 with an `Allow` header listing every method of the path.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import Response
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from gateway.access import ROLES_KEY, RULES_KEY
from shared.contracts.school import RESIDENT_ID_FORMAT

BODY_METHODS = frozenset({"post", "put", "patch"})
PATH_PARAM = re.compile(r"\{[^}/]+\}")


class RefusedField(BaseModel):
    """One refused field: where (`["body", "student", "id_number"]`), the rule, its kind."""

    loc: list[str | int]
    msg: str
    type: str


class Error(BaseModel):
    """Every error answer: a sentence, or (422) the refused fields."""

    detail: str | list[RefusedField]


RETRY_AFTER = {
    "Retry-After": {
        "description": "seconds to wait before retrying",
        "required": True,
        "schema": {"type": "string"},
    }
}
STANDARD: dict[int, tuple[str, dict[str, Any]]] = {
    401: ("missing, invalid or expired token, or the account changed since it was issued", {}),
    403: ("this role may not call this endpoint, or not for this object", {}),
    404: ("not found, or not yours to see (ids cannot be probed)", {}),
    413: ("the body is over the size limit", {}),
    415: ("the body is not of the media type this operation takes", {}),
    422: ("a refused parameter or field; each problem names it in `loc`", {}),
    429: ("too many requests; retry after Retry-After", RETRY_AFTER),
    503: (
        "a store, the event bus or a service is unavailable; retry after Retry-After",
        RETRY_AFTER,
    ),
}
ERROR_REF = {"$ref": "#/components/schemas/Error"}
CURSOR_RULE = "a cursor from this list's `Link` header, as given"
CHECKED_FORMATS = {RESIDENT_ID_FORMAT: "its check digit (GB 11643) matches the 17 digits"}
RULES_DOC = (
    "Also refused although the schema admits them (listed in `x-hulei-rules`, each problem's "
    "`loc` naming one)"
)


def derived_statuses(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The statuses that follow from the operation's declaration (see the module's docstring)."""
    statuses = {503}
    if operation.get(ROLES_KEY):
        statuses |= {401, 403, 429}
    if operation.get("parameters") or operation.get("requestBody"):
        statuses.add(422)
    if "{" in path:
        statuses.add(404)
    if method in BODY_METHODS:
        statuses |= {413, 415}
    return statuses


def derived_rules(operation: dict[str, Any], schemas: dict[str, Any]) -> dict[str, str]:
    """The 422s for schema-valid input that follow from the declaration: a page cursor, and a
    field of a named format whose check a pattern cannot spell (an ID number's check digit)."""
    cursors = [
        p for p in operation.get("parameters", []) if "page cursor" in p.get("description", "")
    ]
    rules = {f"{p['in']}.{p['name']}": CURSOR_RULE for p in cursors}
    for content in operation.get("requestBody", {}).get("content", {}).values():
        for where, name in _formats(content.get("schema", {}), schemas, "body", depth=4):
            rules[where] = f"format `{name}`: {CHECKED_FORMATS[name]}"
    return rules


def _formats(
    schema: dict[str, Any], schemas: dict[str, Any], where: str, *, depth: int
) -> list[tuple[str, str]]:
    """The checked formats in a body schema, by where (`body.student.id_number`)."""
    if "$ref" in schema:
        schema = schemas.get(schema["$ref"].rsplit("/", 1)[1], {})
    if schema.get("format") in CHECKED_FORMATS:
        return [(where, schema["format"])]
    found = []
    for branch in schema.get("anyOf", []):
        found += _formats(branch, schemas, where, depth=depth)
    if depth > 0:
        for name, sub in schema.get("properties", {}).items():
            found += _formats(sub, schemas, f"{where}.{name}", depth=depth - 1)
    return found


def complete(schema: dict[str, Any]) -> dict[str, Any]:
    """Add the derived statuses to every operation, and the error body to every error answer."""
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(_error_schemas(components))
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            rules = {**derived_rules(operation, components), **operation.get(RULES_KEY, {})}
            if rules:
                operation[RULES_KEY] = rules
            responses = operation.setdefault("responses", {})
            for status in sorted(derived_statuses(path, method, operation)):
                responses.setdefault(str(status), {"description": STANDARD[status][0]})
            for code, answer in responses.items():
                if code[0] in "45":
                    _as_error(int(code), answer)
            if rules:
                said = "; ".join(f"`{where}`: {rule}" for where, rule in rules.items())
                responses["422"]["description"] = f"{STANDARD[422][0]}. {RULES_DOC}: {said}"
    return schema


def _as_error(status: int, answer: dict[str, Any]) -> None:
    content = answer.setdefault("content", {}).setdefault("application/json", {})
    if not content.get("schema"):  # a bare description, or FastAPI's empty default
        content["schema"] = ERROR_REF
    for name, header in STANDARD.get(status, ("", {}))[1].items():
        answer.setdefault("headers", {}).setdefault(name, header)


def _error_schemas(existing: dict[str, Any]) -> dict[str, Any]:
    found = Error.model_json_schema(ref_template="#/components/schemas/{model}")
    defs = found.pop("$defs", {})
    return {**defs, "Error": found} if "Error" not in existing else {}


def documented(app: FastAPI) -> Callable[[], dict[str, Any]]:
    """`app.openapi`, completed once (the document is built on first request)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = complete(build())
            app.state.allowed_methods = _methods_by_path(app.openapi_schema)
        return app.openapi_schema

    return openapi


def _methods_by_path(schema: dict[str, Any]) -> list[tuple[re.Pattern[str], str]]:
    found = []
    for path, item in schema.get("paths", {}).items():
        methods = {m.upper() for m in item} | ({"HEAD"} if "get" in item else set())
        found.append((re.compile(PATH_PARAM.sub("[^/]+", path)), ", ".join(sorted(methods))))
    return found


async def method_not_allowed(request: Request, exc: Exception) -> Response:
    """A 405's `Allow` lists the methods the document gives the path, not only those of the
    first route that matched it (Starlette's answer, wrong where GET and POST are two routes)."""
    assert isinstance(exc, StarletteHTTPException)  # noqa: S101 - registered for it only
    if exc.status_code == 405:
        request.app.openapi()  # builds the table on first use
        for pattern, allow in request.app.state.allowed_methods:
            if pattern.fullmatch(request.url.path):
                exc.headers = {**(exc.headers or {}), "Allow": allow}
                break
    return await http_exception_handler(request, exc)


def install(app: FastAPI) -> None:
    app.openapi = documented(app)  # type: ignore[method-assign]
    app.add_exception_handler(StarletteHTTPException, method_not_allowed)
