"""The floor of the platform's shape: what its parts cost at best, and how many of each a report
takes, so that `make bench` says how much of the CPU per report the shape itself sets.

The parts (`measure_parts`) run against a real NATS server as the platform runs it (launcher
config: accounts, fsync always), each client in a process of its own (tests/bench/shape_worker.py):
its CPU is the process clock's, the server's from /proc. The counts (`snapshot` before and after
the sustained run) are the platform's own: messages stored in every stream, deliveries to every
durable consumer (its delivered sequence), and the gateway's live-stream reads (every message of
the streams gateway/stream.py follows). docs/performance.md, "The floor of the shape".
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nats
from nats.js.errors import NotFoundError

from deploy.launcher import Platform, Ports
from gateway.stream_items import SOURCES
from shared.nats_auth import ADMIN
from tests.bench.cpu import cpu_seconds
from tests.bench.shape_worker import DURABLE, STREAM
from tests.bench.table import Row

ROOT = Path(__file__).resolve().parents[2]
PARTS = "the floor of the shape: its parts, CPU per message (client process; NATS server)"
SHAPE = "the shape of a report (counted in the sustained run)"
TRICKLE_PER_S = 100.0  # each message alone, as at c=8: the consumer is idle when it comes
HTTP_PER_REPORT = 2  # by design: client → gateway → school_liaison


@dataclass(frozen=True)
class Counts:
    publish: int
    trickle: int
    backlog: int
    kernel_backlog: int


FULL = Counts(publish=2000, trickle=1000, backlog=4000, kernel_backlog=3000)
QUICK = Counts(publish=40, trickle=30, backlog=100, kernel_backlog=100)

# (name, what) of each part measured; "http" comes from the bare FastAPI floor.
WHAT = {
    "publish": "bare JetStream publish, one at a time (ack awaited)",
    "deliver_trickle": f"bare pull delivery, fetch 1 + ack, trickle {TRICKLE_PER_S:.0f}/s",
    "deliver_backlog": "bare pull delivery, fetch 64 + acks, backlog",
    "kernel_publish": "kernel publish: Runtime.transact + outbox relay (SQLite)",
    "kernel_trickle": "kernel delivery: Runtime.consume no-op (SQLite), "
    f"trickle {TRICKLE_PER_S:.0f}/s",
    "kernel_backlog": "kernel delivery: Runtime.consume no-op (SQLite), backlog",
}


@dataclass
class _Nats:
    platform: Platform
    nc: Any = None

    @property
    def pid(self) -> int:
        return self.platform.procs["nats"].pid

    def env(self, **extra: str) -> dict[str, str]:
        p = self.platform
        user = {"URL": p.nats_url, "NATS_USER": ADMIN, "NATS_PASSWORD": p.nats_passwords[ADMIN]}
        return {**os.environ, **user, **extra}

    async def fresh(self) -> None:
        """An empty stream and no bench consumer: each part starts from the same state."""
        js = self.nc.jetstream()
        with suppress(NotFoundError):
            await js.delete_consumer(STREAM, DURABLE)
        await js.purge_stream(STREAM)


async def _start(mode: str, n: int, env: dict[str, str], log: Path) -> asyncio.subprocess.Process:
    argv = ["-m", "tests.bench.shape_worker", mode, str(n)]
    with log.open("ab") as err:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, *argv, stdin=-1, stdout=-1, stderr=err, cwd=ROOT, env=env
        )
    assert proc.stdout is not None
    async with asyncio.timeout(60):
        line = await proc.stdout.readline()
    if line != b"ready\n":
        raise RuntimeError(f"shape worker {mode} did not start (see {log})")
    return proc


async def _run(bus: _Nats, workers: list[tuple[str, int, dict[str, str]]], log: Path) -> Any:
    """Start the workers, then give them the go together; the first one's result and the
    server's CPU seconds from the go until every worker finished."""
    procs = [await _start(mode, n, env, log) for mode, n, env in workers]
    before = cpu_seconds([bus.pid])
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(b"go\n")
        await proc.stdin.drain()
    results = []
    for proc in procs:
        assert proc.stdout is not None
        async with asyncio.timeout(600):
            results.append(json.loads(await proc.stdout.readline()))
    server_s = cpu_seconds([bus.pid]) - before
    for proc in procs:
        async with asyncio.timeout(60):
            await proc.wait()
    return results[0], server_s


async def _parts(bus: _Nats, counts: Counts, workdir: Path) -> dict[str, tuple[float, float]]:
    log = workdir / "shape-workers.log"
    env, paced = bus.env(), bus.env(RATE=str(TRICKLE_PER_S))
    out: dict[str, tuple[float, float]] = {}

    async def alone(name: str, mode: str, n: int, store: str = "") -> None:
        result, server_s = await _run(bus, [(mode, n, {**env, "STORE": store})], log)
        out[name] = (result["client_ms"], 1000 * server_s / n)

    async def trickled(name: str, mode: str, n: int, store: str = "") -> None:
        """Consumer and paced publisher together; the server's share of the publishes (the
        bare publish's, measured first) taken off its CPU."""
        workers = [(mode, n, {**env, "STORE": store}), ("publish", n, paced)]
        result, server_s = await _run(bus, workers, log)
        out[name] = (result["client_ms"], max(0.0, 1000 * server_s / n - out["publish"][1]))

    async def backlogged(name: str, mode: str, n: int, store: str = "") -> None:
        await _run(bus, [("publish", n, env)], log)  # the backlog, not measured
        await alone(name, mode, n, store)

    def store(name: str) -> str:
        return f"sqlite:///{workdir / f'shape-{name}.db'}"

    steps = [
        (alone, "publish", "publish", counts.publish, ""),
        (trickled, "deliver_trickle", "deliver-trickle", counts.trickle, ""),
        (backlogged, "deliver_backlog", "deliver-backlog", counts.backlog, ""),
        (alone, "kernel_publish", "kernel-publish", counts.trickle, store("publish")),
        (trickled, "kernel_trickle", "kernel-deliver-trickle", counts.trickle, store("trickle")),
        (backlogged, "kernel_backlog", "kernel-deliver-backlog", counts.kernel_backlog, store("b")),
    ]
    for step, name, mode, n, url in steps:
        print(f"  {WHAT[name]} …", flush=True)
        await bus.fresh()
        await step(name, mode, n, url)
    return out


async def measure_parts(*, quick: bool, workdir: Path) -> dict[str, tuple[float, float]]:
    """(client ms, server ms) per message of each part, on a NATS server of its own."""
    platform = Platform(var_dir=workdir / "shape", ports=Ports.free())
    platform.var_dir.mkdir(parents=True)
    platform.start_nats()
    bus = _Nats(platform)
    try:
        bus.nc = await nats.connect(
            platform.nats_url, user=ADMIN, password=platform.nats_passwords[ADMIN]
        )
        await _declare(bus)
        return await _parts(bus, QUICK if quick else FULL, workdir)
    finally:
        if bus.nc is not None:
            await bus.nc.close()
        platform.stop()


async def _declare(bus: _Nats) -> None:
    from shared.streams import STREAMS, stream_config

    js = bus.nc.jetstream()
    for spec in STREAMS:
        if spec.name == STREAM:
            await js.add_stream(stream_config(spec, replicas=1))


def part_rows(parts: dict[str, tuple[float, float]], *, http_ms: float | None) -> list[Row]:
    rows = []
    for name, (client, server) in parts.items():
        for side, ms in (("client", client), ("NATS server", server)):
            rows.append(Row(PARTS, f"{WHAT[name]}: {side} CPU", value=ms, unit="ms/msg"))
    rows.append(Row(PARTS, "bare FastAPI POST, c=8: server CPU", value=http_ms, unit="ms/request"))
    return rows


async def snapshot(platform: Platform) -> dict[str, dict[str, int]]:
    """Each stream's last sequence and, per durable consumer, its delivered sequence and the
    messages still waiting for it or unacknowledged, as admin."""
    nc = await nats.connect(platform.nats_url, user=ADMIN, password=platform.nats_passwords[ADMIN])
    try:
        js = nc.jetstream()
        stored: dict[str, int] = {}
        delivered: dict[str, int] = {}
        waiting: dict[str, int] = {}
        for stream in await js.streams_info():
            name = str(stream.config.name)
            stored[name] = stream.state.last_seq
            for consumer in await js.consumers_info(name):
                # The gateway's ordered readers are ephemeral: counted as live reads instead.
                if consumer.config.durable_name and consumer.delivered is not None:
                    delivered[str(consumer.name)] = consumer.delivered.consumer_seq
                    waiting[str(consumer.name)] = (consumer.num_pending or 0) + (
                        consumer.num_ack_pending or 0
                    )
    finally:
        await nc.close()
    return {"stored": stored, "delivered": delivered, "waiting": waiting}


def shape(before: dict[str, dict[str, int]], after: dict[str, dict[str, int]], reports: int) -> Any:
    def per_report(kind: str) -> dict[str, float]:
        d = {k: (v - before[kind].get(k, 0)) / max(1, reports) for k, v in after[kind].items()}
        return {k: v for k, v in d.items() if v}

    stored, delivered = per_report("stored"), per_report("delivered")
    return {
        "reports": reports,
        "stored": stored,
        "delivered": delivered,
        "live_reads": sum(v for k, v in stored.items() if k in SOURCES),
        "http": HTTP_PER_REPORT,
    }


def _top(d: dict[str, float]) -> str:
    return ", ".join(f"{k} {v:.2f}" for k, v in sorted(d.items(), key=lambda kv: -kv[1]))


def shape_rows(
    parts: dict[str, tuple[float, float]],
    counted: dict[str, Any],
    *,
    http_ms: float,
    cpu_ms: float,
) -> list[Row]:
    """The counts, the shape's floor priced at the bare parts and at the kernel's, the
    kernel's overhead on the bare parts."""
    stored = counted["stored"]
    msgs, deliveries = sum(stored.values()), sum(counted["delivered"].values())
    reads, http = counted["live_reads"], counted["http"]

    def cost(name: str) -> float:
        return sum(parts[name])

    def priced(publish: str, deliver: str) -> tuple[float, str]:
        terms = [
            ("publishes", msgs * cost(publish)),
            ("deliveries", deliveries * cost(deliver)),
            ("live reads", reads * cost("deliver_trickle")),
            ("HTTP", http * http_ms),
        ]
        return sum(t for _, t in terms), ", ".join(f"{k} {t:.1f}" for k, t in terms)

    bare, bare_terms = priced("publish", "deliver_trickle")
    backlog, _ = priced("publish", "deliver_backlog")
    kernel, kernel_terms = priced("kernel_publish", "kernel_trickle")
    where = f"measured {cpu_ms:.1f} ms per report in the sustained run"
    rows = [
        Row(SHAPE, "JetStream messages stored per report", value=msgs, note=_top(stored)),
        Row(
            SHAPE,
            "deliveries per report (durable consumers)",
            value=deliveries,
            note=_top(counted["delivered"]),
        ),
        Row(
            SHAPE,
            "gateway live-stream reads per report",
            value=reads,
            note=f"every message of {', '.join(SOURCES)}",
        ),
        Row(SHAPE, "HTTP requests per report", value=http, note="client → gateway → service"),
        Row(
            SHAPE,
            "floor of this shape (bare parts × counts)",
            value=bare,
            unit="ms",
            note=f"{bare_terms} (deliveries priced as a trickle; as a backlog {backlog:.1f}); "
            + where,
            target="≤ 5 ms",
        ),
        Row(
            SHAPE,
            "this shape at the kernel's prices (kernel parts × counts)",
            value=kernel,
            unit="ms",
            note=f"{kernel_terms}; live reads and HTTP at the bare prices; " + where,
        ),
    ]
    for what, k, b in (
        ("delivery, trickle", "kernel_trickle", "deliver_trickle"),
        ("delivery, backlog", "kernel_backlog", "deliver_backlog"),
        ("publish", "kernel_publish", "publish"),
    ):
        rows.append(
            Row(
                SHAPE,
                f"kernel overhead: {what} (kernel ÷ bare, client + server)",
                value=cost(k) / cost(b) if cost(b) else None,
                unit="×",
                note=f"{cost(k):.2f} ms against {cost(b):.2f} ms",
            )
        )
    return rows
