"""The load generator: a small keep-alive HTTP/1.1 client, closed and open loops.

The same client drives the bare-FastAPI floor and the gateway, so their ratio compares servers,
not clients; it costs a few µs per request, leaving the machine's cores to the server measured.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Reply:
    status: int
    body: bytes


def request_bytes(path: str, body: Any, *, headers: dict[str, str]) -> bytes:
    """A POST with a JSON body, ready for the wire."""
    payload = json.dumps(body).encode()
    head = [f"POST {path} HTTP/1.1", "Host: bench", "Content-Type: application/json"]
    head += [f"{name}: {value}" for name, value in headers.items()]
    head.append(f"Content-Length: {len(payload)}")
    return ("\r\n".join(head) + "\r\n\r\n").encode() + payload


class _Conn:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    async def request(self, raw: bytes) -> Reply:
        self.writer.write(raw)
        head = await self.reader.readuntil(b"\r\n\r\n")
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding":
                raise RuntimeError("chunked responses are not expected from these endpoints")
        return Reply(status=int(head[9:12]), body=await self.reader.readexactly(length))

    def close(self) -> None:
        self.writer.close()


class Pool:
    """Idle keep-alive connections to one server; a new one whenever all are busy."""

    def __init__(self, host: str, port: int, *, timeout_s: float = 60.0) -> None:
        self.host, self.port, self.timeout_s = host, port, timeout_s
        self._idle: list[_Conn] = []

    async def request(self, raw: bytes) -> Reply:
        conn = self._idle_conn() or _Conn(*await self._open())
        try:
            async with asyncio.timeout(self.timeout_s):
                reply = await conn.request(raw)
        except BaseException:
            conn.close()
            raise
        self._idle.append(conn)
        return reply

    def _idle_conn(self) -> _Conn | None:
        # uvicorn closes a connection idle for 5 s (between phases): skip those it closed.
        while self._idle:
            conn = self._idle.pop()
            if not conn.reader.at_eof():
                return conn
            conn.close()
        return None

    async def _open(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        return await asyncio.open_connection(self.host, self.port)

    def close(self) -> None:
        while self._idle:
            self._idle.pop().close()


@dataclass
class Load:
    """What one run of requests did: latencies of the accepted ones, their bodies."""

    sent: int = 0
    errors: dict[str, int] = field(default_factory=dict)
    latencies_ms: list[float] = field(default_factory=list)
    bodies: list[bytes] = field(default_factory=list)
    elapsed_s: float = 0.0
    max_lag_ms: float = 0.0  # open loop: how late the worst request left its schedule

    @property
    def ok(self) -> int:
        return len(self.latencies_ms)

    @property
    def rate(self) -> float:
        return self.ok / self.elapsed_s if self.elapsed_s else 0.0

    def record(self, started: float, reply: Reply | BaseException, *, expect: int) -> None:
        if isinstance(reply, BaseException):
            key = type(reply).__name__
        elif reply.status != expect:
            key = str(reply.status)
        else:
            self.latencies_ms.append((time.perf_counter() - started) * 1000)
            self.bodies.append(reply.body)
            return
        self.errors[key] = self.errors.get(key, 0) + 1


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p95/p99 (nearest rank); None for an empty list."""
    if not values:
        return {"p50": None, "p95": None, "p99": None}
    ordered = sorted(values)

    def rank(q: float) -> float:
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]

    return {"p50": statistics.median(ordered), "p95": rank(0.95), "p99": rank(0.99)}


async def _one(pool: Pool, raw: bytes, load: Load, expect: int) -> None:
    started = time.perf_counter()
    load.sent += 1
    try:
        reply: Reply | BaseException = await pool.request(raw)
    except (TimeoutError, OSError, asyncio.IncompleteReadError, RuntimeError) as exc:
        reply = exc
    load.record(started, reply, expect=expect)


async def closed_loop(
    pool: Pool,
    make: Callable[[int], bytes],
    *,
    concurrency: int,
    duration_s: float,
    expect: int = 201,
) -> Load:
    """`concurrency` clients, each sending its next request when the last one is answered."""
    load = Load()
    numbers = iter(range(10**9))
    started = time.perf_counter()
    deadline = started + duration_s

    async def client() -> None:
        while time.perf_counter() < deadline:
            await _one(pool, make(next(numbers)), load, expect)

    await asyncio.gather(*(client() for _ in range(concurrency)))
    load.elapsed_s = time.perf_counter() - started
    return load


async def open_loop(
    pool: Pool,
    make: Callable[[int], bytes],
    *,
    rate: float,
    duration_s: float,
    expect: int = 201,
    max_in_flight: int = 2000,
) -> Load:
    """Requests leave on a fixed schedule, `rate` a second, whether or not earlier ones were
    answered (so a slow server meets the arrivals a real city would send, not fewer)."""
    load = Load()
    total = max(1, round(rate * duration_s))
    slots = asyncio.Semaphore(max_in_flight)  # the file descriptors are finite
    tasks: set[asyncio.Task[None]] = set()
    started = time.perf_counter()

    async def send(raw: bytes) -> None:
        try:
            await _one(pool, raw, load, expect)
        finally:
            slots.release()

    for n in range(total):
        due = started + n / rate
        wait = due - time.perf_counter()
        if wait > 0:
            await asyncio.sleep(wait)  # the schedule itself, not a wait for a result
        await slots.acquire()
        load.max_lag_ms = max(load.max_lag_ms, (time.perf_counter() - due) * 1000)
        task = asyncio.create_task(send(make(n)))
        tasks.add(task)
        task.add_done_callback(tasks.discard)
    while tasks:
        await asyncio.gather(*list(tasks))
    load.elapsed_s = time.perf_counter() - started
    return load
