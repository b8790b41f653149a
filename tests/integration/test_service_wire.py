"""The gateway's wire to the services over real sockets (gateway/wire.py to a uvicorn server):
what passes, what maps to 503 or 502, that the caller's token and trace context travel on, and
how its connections are kept, reused and given up."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI, HTTPException, Request, Response
from fastapi.responses import StreamingResponse
from opentelemetry import trace
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from deploy.launcher import free_port
from gateway.clients import Services
from gateway.wire import HttpWire
from shared.identity import Principal, Role, read_internal_token
from shared.web import INTERNAL_HEADER

pytestmark = pytest.mark.integration

PRINCIPAL = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")
KEY = Ed25519PrivateKey.generate()


def _service(seen: list[dict[str, Any]], release: asyncio.Event) -> FastAPI:
    app = FastAPI()

    @app.post("/reports")
    async def create(request: Request) -> Response:
        seen.append(
            {
                "headers": dict(request.headers),
                "query": dict(request.query_params),
                "body": await request.body(),
            }
        )
        body = b'{"id":"r-1",  "note":"\\u00e9"}'
        headers = {"Idempotent-Replayed": "true", "X-Internal": "no"}
        return Response(body, status_code=201, media_type="application/json", headers=headers)

    @app.get("/status/{code}")
    async def status(code: int) -> Response:
        if code == 422:
            raise HTTPException(422, "school_id: unknown school")
        return Response(b"{}", status_code=code, media_type="application/json")

    @app.get("/who")
    async def who(request: Request) -> dict[str, Any]:
        assert request.client is not None
        return {"port": request.client.port, "query": dict(request.query_params)}

    @app.get("/chunked")
    async def chunked() -> StreamingResponse:
        async def parts() -> AsyncIterator[bytes]:
            for part in (b'{"parts":', b"[1,2,", b"3]}"):
                yield part

        return StreamingResponse(parts(), media_type="application/json")

    @app.get("/last")
    async def last() -> Response:
        return Response(b"{}", media_type="application/json", headers={"Connection": "close"})

    @app.get("/slow")
    async def slow() -> Response:
        await release.wait()  # answers only at teardown: the gateway's timeout must act first
        return Response()

    return app


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, list[dict[str, Any]]]]:
    seen: list[dict[str, Any]] = []
    release = asyncio.Event()
    port = free_port()
    config = uvicorn.Config(_service(seen, release), host="127.0.0.1", port=port, log_config=None)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    for _ in range(500):  # bounded: until it listens
        if server.started:
            break
        await asyncio.sleep(0.01)
    assert server.started
    yield f"http://127.0.0.1:{port}", seen
    release.set()
    server.should_exit = True
    await task


@pytest.fixture
async def services(served: tuple[str, list[dict[str, Any]]]) -> AsyncIterator[Services]:
    urls = {"school_liaison": served[0], "closed": f"http://127.0.0.1:{free_port()}"}
    wire = Services(urls=urls, signing_key=KEY, timeout_s=0.5)
    yield wire
    await wire.close()


async def test_an_answer_is_relayed_byte_for_byte_with_token_query_and_body(
    services: Services, served: tuple[str, list[dict[str, Any]]]
) -> None:
    answer = await services.relay(
        "school_liaison",
        "POST",
        "/reports",
        principal=PRINCIPAL,
        json={"school_id": "sch-01", "note": "é"},
        params={"dry": False, "limit": 5, "absent": None},
    )
    assert answer.status_code == 201
    assert bytes(answer.body) == b'{"id":"r-1",  "note":"\\u00e9"}'
    assert answer.headers["idempotent-replayed"] == "true"
    assert "x-internal" not in answer.headers
    (request,) = served[1]
    assert request["query"] == {"dry": "false", "limit": "5"}
    assert request["body"] == '{"school_id":"sch-01","note":"é"}'.encode()
    assert request["headers"]["content-type"] == "application/json"
    token = request["headers"][INTERNAL_HEADER.lower()]
    caller = read_internal_token(token, key=KEY.public_key(), service="school_liaison")
    assert caller.user_id == "teacher1"


async def test_a_client_error_passes_on_and_server_errors_map_to_502_or_503(
    services: Services,
) -> None:
    unprocessable = await services.call("school_liaison", "GET", "/status/422", principal=PRINCIPAL)
    assert unprocessable.status_code == 422
    assert "school_id" in unprocessable.text
    for path, expected in (("/status/503", 503), ("/status/500", 502)):
        with pytest.raises(HTTPException) as refused:
            await services.call("school_liaison", "GET", path, principal=PRINCIPAL)
        assert refused.value.status_code == expected, path


@pytest.mark.parametrize(("service", "path"), [("closed", "/reports"), ("school_liaison", "/slow")])
async def test_an_unreachable_or_silent_service_is_503_with_retry_after(
    services: Services, service: str, path: str
) -> None:
    with pytest.raises(HTTPException) as refused:
        await services.call(service, "GET", path, principal=PRINCIPAL)
    assert refused.value.status_code == 503
    assert refused.value.headers is not None
    assert "Retry-After" in refused.value.headers


async def test_readiness_names_each_service(services: Services) -> None:
    # The test service has no /readyz (404) and the closed port refuses: neither is ready.
    assert await services.readiness() == {"school_liaison": False, "closed": False}


async def test_the_call_is_a_client_span_whose_context_reaches_the_service(
    services: Services, served: tuple[str, list[dict[str, Any]]], spans: InMemorySpanExporter
) -> None:
    await services.call("school_liaison", "POST", "/reports", principal=PRINCIPAL)
    (client,) = [s for s in spans.get_finished_spans() if s.kind == trace.SpanKind.CLIENT]
    _version, trace_id, parent_id, _flags = served[1][0]["headers"]["traceparent"].split("-")
    assert trace_id == format(client.context.trace_id, "032x")
    assert parent_id == format(client.context.span_id, "016x")


async def test_a_connection_is_kept_and_used_again(
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    wire = HttpWire(served[0], timeout_s=5)
    try:
        ports = [
            (await wire.send("GET", "/who", params={}, headers={}, body=None)).json()["port"]
            for _ in range(3)
        ]
        assert len(set(ports)) == 1
        # A service that says it closes: the next call opens another connection.
        closing = await wire.send("GET", "/last", params={}, headers={}, body=None)
        assert closing.status_code == 200
        after = await wire.send("GET", "/who", params={}, headers={}, body=None)
        assert after.json()["port"] != ports[0]
    finally:
        await wire.close()


async def test_calls_at_once_each_get_their_own_answer(
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    wire = HttpWire(served[0], timeout_s=5)
    try:
        answers = await asyncio.gather(
            *(wire.send("GET", "/who", params={"n": n}, headers={}, body=None) for n in range(12))
        )
        assert [a.json()["query"]["n"] for a in answers] == [str(n) for n in range(12)]
    finally:
        await wire.close()


async def test_a_chunked_answer_and_an_odd_query_arrive_whole(
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    wire = HttpWire(served[0] + "/", timeout_s=5)
    try:
        chunked = await wire.send("GET", "/chunked", params={}, headers={}, body=None)
        assert chunked.json() == {"parts": [1, 2, 3]}
        odd = {"q": "a b&c=d/é?", "flag": True}
        echoed = await wire.send("GET", "/who", params=odd, headers={}, body=None)
        assert echoed.json()["query"] == {"q": "a b&c=d/é?", "flag": "true"}
    finally:
        await wire.close()


async def test_a_header_with_a_line_break_is_never_sent(
    served: tuple[str, list[dict[str, Any]]],
) -> None:
    wire = HttpWire(served[0], timeout_s=5)
    try:
        headers = {"idempotency-key": "k\r\nx-internal: forged"}
        with pytest.raises(ValueError, match="line break"):
            await wire.send("POST", "/reports", params={}, headers=headers, body=b"{}")
        assert served[1] == []
    finally:
        await wire.close()
