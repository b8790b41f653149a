"""The OpenAPI document is complete: every operation names every status its declaration
implies, each error with its body's schema, and a new route gets them without asking."""

from __future__ import annotations

from typing import Annotated, Any

import pytest
from fastapi import APIRouter, Body, FastAPI
from fastapi.testclient import TestClient

from gateway import contract
from gateway.access import ROLES_KEY, RULES_KEY, policy
from gateway.app import create_app
from gateway.settings import Settings
from shared.identity import Role


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    document: dict[str, Any] = create_app(Settings(demo_mode=True)).openapi()
    return document


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(m, p, op) for p, item in doc["paths"].items() for m, op in item.items()]


def expected(path: str, method: str, op: dict[str, Any]) -> set[str]:
    """What the declaration implies, said again here rather than read from contract.py."""
    wanted = {"503"}
    if op[ROLES_KEY]:
        wanted |= {"401", "403", "429"}
    if op.get("parameters") or op.get("requestBody"):
        wanted.add("422")
    if "{" in path:
        wanted.add("404")
    if method in ("post", "put", "patch"):
        wanted |= {"413", "415"}
    return wanted


def test_every_operation_documents_every_status_its_declaration_implies(
    doc: dict[str, Any],
) -> None:
    ops = operations(doc)
    assert len(ops) >= 70
    missing = {
        f"{m.upper()} {p}": sorted(expected(p, m, op) - set(op["responses"]))
        for m, p, op in ops
        if ROLES_KEY in op
    }
    assert {k: v for k, v in missing.items() if v} == {}
    undeclared = [f"{m.upper()} {p}" for m, p, op in ops if ROLES_KEY not in op]
    assert undeclared == []  # every route says who may call it, if only "anyone"


def test_every_error_answer_has_a_json_body_schema_and_retry_after_where_due(
    doc: dict[str, Any],
) -> None:
    for method, path, op in operations(doc):
        for code, answer in op["responses"].items():
            if code[0] not in "45":
                continue
            where = f"{method.upper()} {path} {code}"
            assert answer["content"]["application/json"]["schema"], where
            if code in ("429", "503"):
                assert answer["headers"]["Retry-After"]["required"] is True, where


def test_admin_and_audit_operations_document_their_refusals(doc: dict[str, Any]) -> None:
    # The ten that documented only their success and 422 (issue 16).
    for method, path, op in operations(doc):
        if path.startswith(("/v1/admin", "/v1/audit")):
            assert {"401", "403", "429", "503"} <= set(op["responses"]), (method, path)


def _body_fields(doc: dict[str, Any], op: dict[str, Any]) -> set[str]:
    """`body.<field>` for an object body, `body.*.<field>` for an array of objects."""
    content: dict[str, Any] = op.get("requestBody", {}).get("content", {})
    first: dict[str, Any] = next(iter(content.values()), {})
    schema, prefix = first.get("schema", {}), "body"
    if schema.get("type") == "array":
        schema, prefix = schema.get("items", {}), "body.*"
    if "$ref" in schema:
        schema = doc["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return {f"{prefix}.{name}" for name in schema.get("properties", {})}


def test_each_declared_rule_names_a_parameter_or_field_of_its_operation(
    doc: dict[str, Any],
) -> None:
    rules = 0
    for method, path, op in operations(doc):
        params = {f"{p['in']}.{p['name']}" for p in op.get("parameters", [])}
        fields = _body_fields(doc, op)
        for where in op.get(RULES_KEY, {}):
            rules += 1
            # body.student.id_number: the student field
            named = any(where == f or where.startswith(f"{f}.") for f in fields)
            assert where in params or named, (method, path, where)
            assert where in op["responses"]["422"]["description"], (method, path, where)
    assert rules >= 20


def _new_app() -> FastAPI:
    """A route as another branch would add it: only its policy and its models."""
    router = APIRouter(prefix="/v1")

    @router.post(
        "/webhooks/{hook_id}/ping", openapi_extra=policy(Role.admin, rules={"body.url": "x"})
    )
    async def ping(hook_id: str, url: Annotated[str, Body(embed=True)]) -> dict[str, str]:
        return {"id": hook_id, "url": url}

    @router.get("/webhooks", openapi_extra=policy(Role.admin))
    async def hooks() -> list[str]:
        return []

    @router.post("/webhooks", openapi_extra=policy(Role.admin))
    async def add_hook() -> None:
        return None

    app = FastAPI()
    app.include_router(router)
    contract.install(app)
    return app


def test_a_new_route_gets_its_statuses_from_its_declaration() -> None:
    op = _new_app().openapi()["paths"]["/v1/webhooks/{hook_id}/ping"]["post"]
    assert {"401", "403", "404", "413", "415", "422", "429", "503"} <= set(op["responses"])
    assert op["responses"]["403"]["content"]["application/json"]["schema"] == contract.ERROR_REF
    assert "`body.url`: x" in op["responses"]["422"]["description"]


def test_a_405_allows_every_method_of_the_path_not_only_the_first_route() -> None:
    with TestClient(_new_app()) as client:
        answer = client.request("OPTIONS", "/v1/webhooks")
        assert answer.status_code == 405
        assert answer.headers["allow"] == "GET, HEAD, POST"
        assert client.delete("/v1/webhooks/abc/ping").headers["allow"] == "POST"
        assert client.get("/v1/nothing").status_code == 404  # other errors unchanged
