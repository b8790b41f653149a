"""The wire between the gateway and a service: HTTP/1.1 over keep-alive connections.

On every report the gateway calls a service, so the client's own work counts: httpx cost
~1.1 ms more CPU a call than aiohttp, and aiohttp twice what this one costs (~100 against
~45 µs), an asyncio protocol whose answers httptools parses (the parser uvicorn uses;
docs/performance.md, session 28). It speaks what the services answer: a status, headers and
a body of a known length or chunked, one request at a time on a connection. Tests that run a
service in-process hand in an httpx ASGI transport for it instead (`HttpxWire`).
"""

from __future__ import annotations

import asyncio
import json as jsonlib
import ssl
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol, cast
from urllib.parse import quote, urlencode, urlsplit

import httptools
import httpx

# Idle connections are kept this long: shorter than the services keep theirs (shared/serve.py),
# so a request is never sent on a connection its service has just closed.
KEEPALIVE_S = 30.0
_PATH_SAFE = "/%:@!$&'()*+,;=-._~"  # a path's own characters; `%` keeps what is quoted already


@dataclass(frozen=True, slots=True)
class Answer:
    """A service's answer: status, headers (lower-case names), body bytes. Built directly
    from the wire: an httpx.Response cost ~0.7 ms of CPU to construct under the profiler."""

    status_code: int
    headers: Mapping[str, str]
    content: bytes

    @property
    def text(self) -> str:
        return self.content.decode()

    def json(self) -> Any:
        return jsonlib.loads(self.content)

    def next_url(self) -> str | None:
        """The target of the `Link: <…>; rel="next"` header (shared/paging.py writes it)."""
        for link in self.headers.get("link", "").split(","):
            target, _, params = link.partition(";")
            if 'rel="next"' in params:
                return target.strip().removeprefix("<").removesuffix(">")
        return None


class Unreachable(Exception):
    """The service could not be reached or did not answer in time."""


class Wire(Protocol):
    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer: ...

    async def close(self) -> None: ...


def _query_value(value: Any) -> str:
    """As httpx writes it: booleans in lower case."""
    return str(value).lower() if isinstance(value, bool) else str(value)


class _Connection(asyncio.Protocol):
    """One connection: a request written, its answer parsed as it arrives."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.idle_since = time.monotonic()
        self._parser = httptools.HttpResponseParser(self)
        self._waiter: asyncio.Future[tuple[Answer, bool]] | None = None
        self._headers: dict[str, str] = {}
        self._body: list[bytes] = []

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.Transport, transport)  # a stream connection's

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._fail(Unreachable(f"connection closed: {exc or 'by the service'}"))

    def data_received(self, data: bytes) -> None:
        if self._waiter is None:  # nothing asked: a stray answer leaves the connection unusable
            self.close()
            return
        try:
            self._parser.feed_data(data)
        except httptools.HttpParserError as exc:
            self._fail(Unreachable(f"unreadable answer: {exc}"))
            self.close()

    # httptools' callbacks
    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers[name.decode("latin-1").lower()] = value.decode("latin-1")

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        waiter, self._waiter = self._waiter, None
        answer = Answer(self._parser.get_status_code(), self._headers, b"".join(self._body))
        if waiter is not None and not waiter.done():
            waiter.set_result((answer, self._parser.should_keep_alive()))

    def _fail(self, exc: Exception) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_exception(exc)

    async def exchange(self, request: bytes) -> tuple[Answer, bool]:
        """The answer to `request`, and whether the connection may carry another."""
        if self.closed or self.transport is None:
            raise Unreachable("connection closed")
        self._headers, self._body = {}, []
        self._waiter = asyncio.get_running_loop().create_future()
        self.transport.write(request)
        return await self._waiter

    def close(self) -> None:
        self.closed = True
        if self.transport is not None:
            self.transport.close()


class HttpWire:
    """Keep-alive connections to one service (http or https), opened as calls need them."""

    def __init__(self, base_url: str, *, timeout_s: float) -> None:
        url = urlsplit(base_url)
        if url.scheme not in ("http", "https") or not url.hostname:
            raise ValueError(f"a service URL is http(s)://host[:port][/prefix], not {base_url!r}")
        self._host = url.hostname
        self._port = url.port or (443 if url.scheme == "https" else 80)
        self._tls = ssl.create_default_context() if url.scheme == "https" else None
        self._host_header = url.netloc.rpartition("@")[2]
        self._prefix = url.path.rstrip("/")
        self._timeout_s = timeout_s
        self._idle: list[_Connection] = []
        self._open: set[_Connection] = set()

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        request = self._request(method, path, params, headers, body)
        try:
            async with asyncio.timeout(self._timeout_s):
                connection = await self._connection()
                try:
                    answer, keep = await connection.exchange(request)
                except BaseException:
                    self._drop(connection)  # in an unknown state: half a request, half an answer
                    raise
        except (TimeoutError, OSError) as exc:
            raise Unreachable(str(exc) or type(exc).__name__) from exc
        if keep and not connection.closed:
            connection.idle_since = time.monotonic()
            self._idle.append(connection)
        else:
            self._drop(connection)
        return answer

    def _request(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any],
        headers: dict[str, str],
        body: bytes | None,
    ) -> bytes:
        target = quote(self._prefix + path, safe=_PATH_SAFE)
        if params:
            query = {k: _query_value(v) for k, v in params.items()}
            target += "?" + urlencode(query, quote_via=quote)
        lines = [f"{method} {target} HTTP/1.1", f"host: {self._host_header}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        if body is not None or method in ("POST", "PUT", "PATCH"):
            lines.append(f"content-length: {len(body or b'')}")
        if any("\r" in line or "\n" in line for line in lines):  # it would end the head early
            raise ValueError("a header name or value holds a line break")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")  # bytes as they came in
        return head + body if body else head

    async def _connection(self) -> _Connection:
        """The most recently used idle connection still open and young enough, else a new one."""
        oldest = time.monotonic() - KEEPALIVE_S
        while self._idle:
            connection = self._idle.pop()
            if not connection.closed and connection.idle_since > oldest:
                return connection
            self._drop(connection)
        _, connection = await asyncio.get_running_loop().create_connection(
            _Connection, self._host, self._port, ssl=self._tls
        )
        self._open.add(connection)
        return connection

    def _drop(self, connection: _Connection) -> None:
        connection.close()
        self._open.discard(connection)

    async def close(self) -> None:
        for connection in self._open:
            connection.close()
        self._open.clear()
        self._idle.clear()


class HttpxWire:
    """A service in the same process (tests): an httpx client over its ASGI transport."""

    def __init__(
        self, base_url: str, *, timeout_s: float, transport: httpx.AsyncBaseTransport
    ) -> None:
        self._client = httpx.AsyncClient(base_url=base_url, timeout=timeout_s, transport=transport)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any],
        headers: dict[str, str],
        body: bytes | None,
    ) -> Answer:
        try:
            answer = await self._client.request(
                method, path, params=dict(params), headers=headers, content=body
            )
        except httpx.TransportError as exc:
            raise Unreachable(str(exc)) from exc
        return Answer(answer.status_code, dict(answer.headers), answer.content)

    async def close(self) -> None:
        await self._client.aclose()
