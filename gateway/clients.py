"""How the gateway reaches the services: HTTP, with the caller vouched for by an internal token.

A service that cannot be reached, or answers 503 (its store is unavailable), gives 503 with
Retry-After (never a hang); any other service error gives 502; a service's 4xx is passed on
unchanged, so the field it names reaches the client.
"""

from __future__ import annotations

from typing import Any

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import HTTPException
from fastapi.responses import JSONResponse
from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

from shared.app import RETRY_AFTER_S
from shared.identity import Principal, mint_internal_token
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
        self._signing_key = signing_key
        self._clients = {
            name: httpx.AsyncClient(
                base_url=url, timeout=timeout_s, transport=(transports or {}).get(name)
            )
            for name, url in urls.items()
        }
        for client in self._clients.values():
            # A client span per call, its traceparent sent on: the service's span continues it.
            HTTPXClientInstrumentor.instrument_client(client)

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
    ) -> httpx.Response:
        # A fresh token per call, for this service only: replayed elsewhere it is refused.
        token = mint_internal_token(principal, key=self._signing_key, service=service)
        outgoing = {INTERNAL_HEADER: token}
        outgoing.update(headers or {})
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            response = await self._clients[service].request(
                method, path, json=json, params=query, headers=outgoing
            )
        except httpx.TransportError as exc:
            raise HTTPException(
                503, f"{service} is unavailable", headers={"Retry-After": RETRY_AFTER_S}
            ) from exc
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
        result: dict[str, bool] = {}
        for name, client in self._clients.items():
            try:
                result[name] = (await client.get("/readyz", timeout=2.0)).status_code == 200
            except httpx.TransportError:
                result[name] = False
        return result

    async def close(self) -> None:
        for client in self._clients.values():
            await client.aclose()
