"""Request limits and hygiene: body size (413), rate (429), login throttling, content types
(415) and security headers."""

from __future__ import annotations

import asyncio
import json
import math
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

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


class Bounded(OrderedDict[str, Any]):
    """A map that forgets its least recently used keys beyond `max_keys`, so a client that
    invents usernames or addresses cannot grow the gateway's memory without bound."""

    def __init__(self, max_keys: int) -> None:
        super().__init__()
        self.max_keys = max_keys

    def touch(self, key: str, value: Any) -> None:
        self[key] = value
        self.move_to_end(key)
        while len(self) > self.max_keys:
            self.popitem(last=False)


def _too_many(message: str, wait_s: float) -> HTTPException:
    return HTTPException(429, message, headers={"Retry-After": str(max(1, math.ceil(wait_s)))})


class RateLimiter:
    """Token bucket per client: `rate` requests a second on average, bursts up to `burst`.

    Kept in the gateway process: with several gateway replicas each enforces its own share.
    A forgotten bucket is a full one, which is what an idle client would have anyway.
    """

    def __init__(
        self,
        *,
        rate: float,
        burst: int,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._rate = rate
        self._burst = float(burst)
        self._clock = clock
        self._buckets = Bounded(max_keys)

    async def check(self, key: str) -> None:
        now = self._clock()
        tokens, last = self._buckets.get(key, (self._burst, now))
        tokens = min(self._burst, tokens + (now - last) * self._rate)
        if tokens < 1.0:
            raise _too_many("too many requests", (1.0 - tokens) / self._rate)
        self._buckets.touch(key, (tokens - 1.0, now))


@dataclass
class _Failures:
    count: int
    last: float


@dataclass
class Attempt:
    """The caller sets `ok` once the password was checked; left None, nothing is counted."""

    ok: bool | None = None


class LoginThrottle:
    """Slows password guessing without locking anybody out.

    Per (account, source address): `free_failures` wrong passwords cost nothing; after that
    each further attempt must wait `base_delay_s`, then twice that, … up to `max_delay_s`
    after the previous failure. An attacker hammering an account from one address is slowed;
    the account's owner, from her own address, is not. Per source address across accounts:
    at most `source_max_failures` failures in `window_s` (password spraying: many usernames
    from one address). Failures are forgotten `window_s` after the last one.

    Attempts on one (account, address) take turns, and attempts from one address in progress
    count against its budget, so a burst of concurrent guesses cannot all be checked before
    the first failure is counted; concurrent right passwords simply wait their turn.
    """

    def __init__(
        self,
        *,
        free_failures: int = 3,
        base_delay_s: float = 1.0,
        max_delay_s: float = 300.0,
        source_max_failures: int = 30,
        window_s: float = 900.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self._free = free_failures
        self._base = base_delay_s
        self._cap = max_delay_s
        self._source_max = source_max_failures
        self._window = window_s
        self._clock = clock
        self._pairs = Bounded(max_keys)
        self._sources = Bounded(max_keys)
        self._turns = Bounded(max_keys)  # (account, address) → asyncio.Lock
        self._in_progress: dict[str, int] = {}  # address → attempts running; empties itself

    def _current(self, table: Bounded, key: str, now: float) -> _Failures | None:
        entry: _Failures | None = table.get(key)
        if entry is not None and now - entry.last > self._window:
            del table[key]
            return None
        return entry

    def _check(self, pair_key: str, source: str) -> None:
        now = self._clock()
        spray = self._current(self._sources, source, now)
        failures = (spray.count if spray else 0) + self._in_progress.get(source, 0)
        if failures >= self._source_max:
            last = spray.last if spray else now
            raise _too_many("too many failed logins from this address", last + self._window - now)
        pair = self._current(self._pairs, pair_key, now)
        if pair is not None and pair.count >= self._free:
            delay = min(self._cap, self._base * 2 ** (pair.count - self._free))
            if now < pair.last + delay:
                raise _too_many("too many failed logins; try later", pair.last + delay - now)

    def _failed(self, pair_key: str, source: str) -> None:
        now = self._clock()
        for table, key in ((self._pairs, pair_key), (self._sources, source)):
            entry = self._current(table, key, now) or _Failures(0, now)
            table.touch(key, _Failures(entry.count + 1, now))

    @asynccontextmanager
    async def attempt(self, *, account: str, source: str) -> AsyncIterator[Attempt]:
        """429 with Retry-After if this attempt must wait; else the caller checks the password
        inside and reports the result on the yielded `Attempt`."""
        pair_key = f"{account}\n{source}"
        turn = self._turns.get(pair_key) or asyncio.Lock()
        self._turns.touch(pair_key, turn)
        async with turn:
            self._check(pair_key, source)
            self._in_progress[source] = self._in_progress.get(source, 0) + 1
            result = Attempt()
            try:
                yield result
            finally:
                left = self._in_progress.pop(source) - 1
                if left:
                    self._in_progress[source] = left
                if result.ok is False:
                    self._failed(pair_key, source)
                elif result.ok:
                    # Only the pair: a sprayer gets no clean slate by guessing one right.
                    self._pairs.pop(pair_key, None)


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
