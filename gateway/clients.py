"""How the gateway reaches the services: HTTP, with the caller vouched for by an internal token.

A service that cannot be reached, or answers 503 (its store is unavailable), gives 503 with
Retry-After (never a hang); any other service error gives 502; a service's 4xx is passed on
unchanged, so the field it names reaches the client.

The wire (gateway/wire.py) is a lean HTTP/1.1 client over keep-alive connections; tests that
run a service in-process hand in an httpx ASGI transport for it instead.
"""

from __future__ import annotations

import asyncio
import json as jsonlib
from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from opentelemetry import trace

from gateway.wire import Answer, HttpWire, HttpxWire, Unreachable, Wire
from shared.app import RETRY_AFTER_S
from shared.identity import Principal
from shared.telemetry import inject, tracer
from shared.token_cache import MintedTokens
from shared.web import INTERNAL_HEADER


class Relayed(JSONResponse):
    """A JSON answer whose body is already encoded (a service's)."""

    def render(self, content: Any) -> bytes:
        return bytes(content)


class Services:
    def __init__(
        self,
        *,
        urls: dict[str, str],
        signing_key: Ed25519PrivateKey,
        timeout_s: float,
        transports: dict[str, httpx.AsyncBaseTransport] | None = None,
    ) -> None:
        """`transports` lets tests route a service's calls in-process (httpx.ASGITransport)."""
        self._tokens = MintedTokens(signing_key)
        self._tracer = tracer("gateway.services")
        self._wires: dict[str, Wire] = {}
        for name, url in urls.items():
            if (transport := (transports or {}).get(name)) is not None:
                self._wires[name] = HttpxWire(url, timeout_s=timeout_s, transport=transport)
            else:
                self._wires[name] = HttpWire(url, timeout_s=timeout_s)

    async def call(
        self,
        service: str,
        method: str,
        path: str,
        *,
        principal: Principal,
        json: Any = None,
        params: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ) -> Answer:
        # For this service only (replayed elsewhere it is refused), used for a while.
        token = self._tokens.token(principal, service=service)
        outgoing = {INTERNAL_HEADER: token}
        outgoing.update(headers or {})
        body = None
        if json is not None:
            body = jsonlib.dumps(
                json, separators=(",", ":"), ensure_ascii=False, allow_nan=False
            ).encode()
            outgoing["content-type"] = "application/json"
        query = {k: v for k, v in (params or {}).items() if v is not None}
        # A client span per call, its traceparent sent on: the service's span continues it.
        with self._tracer.start_as_current_span(method, kind=trace.SpanKind.CLIENT) as span:
            span.set_attribute("peer.service", service)
            inject(outgoing)
            try:
                response = await self._wires[service].send(
                    method, path, params=query, headers=outgoing, body=body
                )
            except Unreachable as exc:
                raise HTTPException(
                    503, f"{service} is unavailable", headers={"Retry-After": RETRY_AFTER_S}
                ) from exc
            span.set_attribute("http.response.status_code", response.status_code)
        if response.status_code == 503:
            raise HTTPException(
                503, f"{service} is unavailable", headers={"Retry-After": RETRY_AFTER_S}
            )
        if response.status_code >= 500:
            raise HTTPException(502, f"{service} failed to answer")
        return response

    async def relay(self, service: str, method: str, path: str, **kwargs: Any) -> JSONResponse:
        """Call a service and hand its answer (status, body, idempotency marker) to the client."""
        response = await self.call(service, method, path, **kwargs)
        passed = {}
        if (replayed := response.headers.get("idempotent-replayed")) is not None:
            passed["idempotent-replayed"] = replayed
        if response.headers.get("content-type", "").startswith("application/json"):
            # The service's bytes as they are: parsing and re-encoding them changed nothing.
            return Relayed(response.content, status_code=response.status_code, headers=passed)
        return JSONResponse(response.json(), status_code=response.status_code, headers=passed)

    async def readiness(self) -> dict[str, bool]:
        async def ready(wire: Wire) -> bool:
            try:
                async with asyncio.timeout(2.0):
                    answer = await wire.send("GET", "/readyz", params={}, headers={}, body=None)
            except (Unreachable, TimeoutError):
                return False
            return answer.status_code == 200

        names = list(self._wires)
        answers = await asyncio.gather(*(ready(self._wires[n]) for n in names))
        return dict(zip(names, answers, strict=True))

    async def close(self) -> None:
        for wire in self._wires.values():
            await wire.close()
