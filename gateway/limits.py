"""Request limits and hygiene: body size (413), rate (429), login throttling, content types
(415) and security headers."""

from __future__ import annotations

import json
import math
import time
from collections.abc import Callable

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def _refuse(self, send: Send) -> None:
        body = json.dumps({"detail": f"request body exceeds {self.max_bytes} bytes"}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "http.response.body", "body": body})

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(send)
            return
        # Chunked bodies carry no length: count the bytes as they arrive.
        seen = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counting_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._refuse(send)


class RateLimiter:
    """Token bucket per client: `rate` requests a second on average, bursts up to `burst`.

    Kept in the gateway process: with several gateway replicas each enforces its own share.
    """

    def __init__(self, *, rate: float, burst: int, clock: Callable[[], float] = time.monotonic):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}

    async def check(self, key: str) -> None:
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            wait = math.ceil((1.0 - tokens) / self._rate)
            raise HTTPException(429, "too many requests", headers={"Retry-After": str(wait)})
        self._buckets[key] = (tokens - 1.0, now)


class LoginThrottle:
    """After `max_failures` failed logins for one account within `window_s`, refuse logins for
    it until the window has passed, so passwords cannot be guessed at speed."""

    def __init__(
        self, *, max_failures: int, window_s: float, clock: Callable[[], float] = time.monotonic
    ):
        self._max = max_failures
        self._window = window_s
        self._clock = clock
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str) -> list[float]:
        cutoff = self._clock() - self._window
        recent = [t for t in self._failures.get(key, []) if t > cutoff]
        self._failures[key] = recent
        return recent

    def check(self, key: str) -> None:
        recent = self._recent(key)
        if len(recent) >= self._max:
            wait = math.ceil(recent[0] + self._window - self._clock())
            raise HTTPException(
                429, "too many failed logins; try later", headers={"Retry-After": str(max(1, wait))}
            )

    def failed(self, key: str) -> None:
        self._recent(key).append(self._clock())

    def succeeded(self, key: str) -> None:
        self._failures.pop(key, None)


# Non-JSON bodies are refused on JSON routes; the token endpoint takes the OAuth2 form.
FORM_PATHS = frozenset({"/v1/auth/token"})
SECURITY_HEADERS = [
    (b"x-content-type-options", b"nosniff"),
    (b"x-frame-options", b"DENY"),
    (b"referrer-policy", b"no-referrer"),
    (b"cache-control", b"no-store"),
    (b"strict-transport-security", b"max-age=31536000; includeSubDomains"),
]
API_CSP = (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'")


class HygieneMiddleware:
    """Security headers on every answer; 415 for a body whose type the route does not take."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if scope["method"] in ("POST", "PUT", "PATCH") and path.startswith("/v1/"):
            headers = dict(scope["headers"])
            has_body = headers.get(b"content-length", b"0") != b"0" or (
                b"transfer-encoding" in headers
            )
            ctype = headers.get(b"content-type", b"").split(b";")[0].strip().lower()
            wanted = (
                b"application/x-www-form-urlencoded" if path in FORM_PATHS else b"application/json"
            )
            if has_body and ctype != wanted:
                body = json.dumps({"detail": f"Content-Type must be {wanted.decode()}"}).encode()
                await send(
                    {
                        "type": "http.response.start",
                        "status": 415,
                        "headers": [(b"content-type", b"application/json"), *SECURITY_HEADERS],
                    }
                )
                await send({"type": "http.response.body", "body": body})
                return
        api = path.startswith("/v1/") or path in ("/healthz", "/readyz", "/metrics")

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                extra = [*SECURITY_HEADERS, API_CSP] if api else SECURITY_HEADERS
                message["headers"] = [*message.get("headers", []), *extra]
            await send(message)

        await self.app(scope, receive, with_headers)
