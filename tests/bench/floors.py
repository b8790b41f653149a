"""The machine's floors, measured in the same run as the platform: what the server stack, the
bus and the store can do at best on these cores with the platform's durable settings."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import nats

from deploy.launcher import free_port, nats_server_binary, wait_until
from tests.bench.client import Pool, closed_loop, percentiles, request_bytes
from tests.bench.cpu import cpu_seconds

ROOT = Path(__file__).resolve().parents[2]
# About the size of one of the platform's events (an envelope with a task in it).
EVENT = json.dumps({"id": "e" * 32, "type": "case.task_created.v1", "data": {"x": "y" * 500}})


@contextmanager
def _process(argv: list[str], *, log: Path) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("ab") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=out, cwd=ROOT)
    try:
        yield proc
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _listening(port: int) -> bool:
    with socket.create_connection(("127.0.0.1", port), timeout=1):
        return True


def report_body(n: int, *, tag: str) -> dict[str, Any]:
    """A concern report; each names another child, so each opens its own case. The number has
    a fixed width: the pseudonym ignores spaces, and "soak1 10" and "soak11 0" were one child."""
    return {
        "school_id": "sch-01",
        "category": "truancy",
        "description": "Absent since Monday",
        "student": {"name": f"Bench Student {tag} {n:07d}"},
    }


async def fastapi_floor(
    *, concurrencies: list[int], duration_s: float, workdir: Path
) -> dict[int, dict[str, Any]]:
    """The bare endpoint at each concurrency: requests/s, latency, and the server process's CPU
    per request (ms, from /proc: the server runs alone in its process)."""
    port = free_port()
    argv = [sys.executable, "-m", "tests.bench.bare", str(port)]
    with _process(argv, log=workdir / "bare.log") as server:
        wait_until(
            lambda: httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200,
            within=30,
            what="the bare FastAPI server",
        )
        pool = Pool("127.0.0.1", port)
        out = {}
        try:
            for c in concurrencies:
                cpu_before = cpu_seconds([server.pid])
                load = await closed_loop(
                    pool,
                    lambda n: request_bytes("/v1/reports", report_body(n, tag="floor"), headers={}),
                    concurrency=c,
                    duration_s=duration_s,
                )
                cpu_ms = 1000 * (cpu_seconds([server.pid]) - cpu_before) / max(1, load.ok)
                out[c] = {
                    "rate": load.rate,
                    **percentiles(load.latencies_ms),
                    "n": load.ok,
                    "server_cpu_ms": cpu_ms,
                }
        finally:
            pool.close()
    return out


async def _timed(n: int, call: Callable[[], Awaitable[object]]) -> dict[str, Any]:
    times = []
    started = time.perf_counter()
    for _ in range(n):
        t = time.perf_counter()
        await call()
        times.append((time.perf_counter() - t) * 1000)
    return {"rate": n / (time.perf_counter() - started), **percentiles(times), "n": n}


async def jetstream_floor(*, one_by_one: int, pipelined: int, workdir: Path) -> dict[str, Any]:
    """Publishes acknowledged by a JetStream file stream that fsyncs every write, as the
    platform's NATS does: one at a time (each awaits its ack), then pipelined (acks awaited
    together, a window of them in flight)."""
    port = free_port()
    store = workdir / "nats-floor"
    store.mkdir(parents=True, exist_ok=True)
    config = workdir / "nats-floor.conf"
    config.write_text(
        f'listen: "127.0.0.1:{port}"\njetstream {{ store_dir: "{store}", sync_interval: always }}\n'
    )
    with _process([nats_server_binary(), "-c", str(config)], log=workdir / "nats-floor.log"):
        wait_until(
            lambda: _listening(port),
            within=30,
            what="the floor's NATS server",
        )
        nc = await nats.connect(f"nats://127.0.0.1:{port}", connect_timeout=10)
        try:
            js = nc.jetstream()
            await js.add_stream(name="BENCH", subjects=["bench.>"])
            payload = EVENT.encode()
            single = await _timed(one_by_one, lambda: js.publish("bench.one", payload))
            started = time.perf_counter()
            window = 256
            for first in range(0, pipelined, window):
                futures = [
                    await js.publish_async("bench.many", payload)
                    for _ in range(min(window, pipelined - first))
                ]
                await asyncio.gather(*futures)
            rate = pipelined / (time.perf_counter() - started)
        finally:
            await nc.close()
    return {"one": single, "pipelined": {"rate": rate, "n": pipelined, "window": window}}


def sqlite_floor(*, commits: int, workdir: Path) -> dict[str, Any]:
    """One small JSON row per transaction, WAL and synchronous=FULL as the platform's stores,
    run inline (no thread hand-off): what a commit costs on this disk."""
    path = workdir / "floor.db"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("CREATE TABLE t (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        times = []
        started = time.perf_counter()
        for i in range(commits):
            t = time.perf_counter()
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("INSERT INTO t VALUES (?, ?)", (f"r{i}", EVENT))
            conn.execute("COMMIT")
            times.append((time.perf_counter() - t) * 1000)
        rate = commits / (time.perf_counter() - started)
    finally:
        conn.close()
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
    return {"rate": rate, **percentiles(times), "n": commits}


def python_loop_ms(*, steps: int = 1_000_000, runs: int = 3) -> float:
    """CPU ms of this thread for a fixed pure-Python loop, per million steps, the best of
    `runs`: how fast the host runs the interpreter now. The VM's speed moves with its
    neighbours (the same tree's CPU per report doubled between sessions); this is the
    interpreter's part of it, the bare floors show the kernel's and the network's."""
    best = float("inf")
    for _ in range(runs):
        started, total = time.thread_time(), 0
        for i in range(steps):
            total += i
        best = min(best, time.thread_time() - started)
    return 1000 * best * 1_000_000 / steps


def interpreter() -> str:
    """Which CPython runs the platform (every process runs this one, `deploy/launcher.py`): its
    build counts as much as the code, ~9 % of a report's CPU between two 3.11 builds (the
    Makefile says which it prefers), so a run says which it measured."""
    return f"CPython {sys.version.split()[0]} at {os.path.realpath(sys.executable)}"


def machine() -> dict[str, Any]:
    """What the figures were measured on."""
    return {
        "cpus": os.cpu_count(),
        "loadavg_at_start": list(os.getloadavg()),
        "python": sys.version.split()[0],
        "python_executable": os.path.realpath(sys.executable),
    }
