"""Fan-out of the event stream: many SSE clients on one gateway, events at a steady rate.

    python -m tests.bench.stream [--clients 200] [--rate 50] [--seconds 20]
                                 [--cases 50 | --new-per-s 1]

Starts NATS and one gateway process as `make run` does (rate limit lifted: every client is the
same dispatcher), opens `--clients` streams of `GET /v1/stream`, then publishes `task.created`
events as case_tracking (their owner) at `--rate` a second for `--seconds`. Prints, as JSON:

- the latency from publishing an event to *every* client having it (per event: the slowest
  client), p50/p95/p99, and over all deliveries; events lost or doubled (must be 0);
- the gateway's resident memory per connected client (RSS with the clients minus before);
- the gateway's CPU over the publishing window (share of one core).

`--cases` events name that many distinct cases in turn: each stream audits a case the first
time it shows it, so few cases measure the fan-out, many measure the audit trail as well
(all of them new to every desk in the first second: a cold start). `--new-per-s` instead opens
cases at a steady rate, every desk being shown each new one once (the audit trail's steady cost).
The client and the publisher run in this process, on the same machine: they share its cores.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import uvloop

from deploy.launcher import Platform, Ports
from shared.bus import Bus
from shared.contracts.cases import Agency, TaskCreated
from shared.contracts.school import Severity
from shared.events import Envelope, new_id
from tests.bench.client import percentiles
from tests.bench.cpu import cpu_seconds
from tests.support import eventually

LIFTED = {"HULEI_GATEWAY_RATE_PER_S": "1000000", "HULEI_GATEWAY_RATE_BURST": "1000000"}


@dataclass
class Client:
    got: dict[str, float] = field(default_factory=dict)  # event id → arrival (epoch s)
    doubled: int = 0
    ready: asyncio.Event = field(default_factory=asyncio.Event)


EVENT_ID = re.compile(rb'data: \{"event_id":"([0-9a-f]+)"')


async def listen(host: str, port: int, token: str, client: Client) -> None:
    """One SSE client on a raw connection, scanning whole reads for event ids (cheap enough
    that 200 of them fit beside the gateway on the same machine)."""
    reader, writer = await asyncio.open_connection(host, port)
    writer.write(
        f"GET /v1/stream?type=task.created HTTP/1.1\r\nHost: {host}\r\n"
        f"Authorization: Bearer {token}\r\nAccept: text/event-stream\r\n\r\n".encode()
    )
    await writer.drain()
    pending = b""
    try:
        while chunk := await reader.read(65536):
            now = time.time()
            pending += chunk
            complete, _, pending = pending.rpartition(b"\n\n")  # whole messages only
            if b"event: ready" in complete:
                client.ready.set()
            for match in EVENT_ID.finditer(complete):
                event_id = match.group(1).decode()
                if event_id in client.got:
                    client.doubled += 1
                client.got[event_id] = now
    finally:
        writer.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def task_event(case: int) -> Envelope:
    data = TaskCreated(
        task_id=new_id(),
        case_id=f"bench-case-{case}",
        school_id="sch-01",
        kind="home_visit",
        title="Bench task",
        agency=Agency.police,
        assignee_user_id="officer1",
        assignee_org_id=None,
        risk_level=Severity.high,
        due_at=datetime.now(UTC) + timedelta(hours=1),
    )
    return Envelope.wrap(data, source="case_tracking", subject=data.task_id, correlation_id="b")


def case_of(n: int, *, rate: float, cases: int, new_per_s: float) -> int:
    """Which case event n names: with `new_per_s`, a new case opens at that rate and the other
    events name the cases already open; otherwise the events cycle through `cases`."""
    if new_per_s > 0:
        return n % (1 + int(n * new_per_s / rate))
    return n % cases


async def publish(
    bus: Bus, *, rate: float, seconds: float, cases: int, new_per_s: float = 0.0
) -> dict[str, float]:
    """Paced: event n leaves at start + n / rate; their publish times (the envelopes' own)."""
    sent: dict[str, float] = {}
    start = time.monotonic()
    for n in range(int(rate * seconds)):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)  # the pacing of the load itself
        envelope = task_event(case_of(n, rate=rate, cases=cases, new_per_s=new_per_s))
        sent[envelope.id] = envelope.time.timestamp()
        await bus.publish(envelope)
    return sent


async def measure(
    platform: Platform,
    *,
    clients: int,
    rate: float,
    seconds: float,
    cases: int,
    new_per_s: float = 0.0,
) -> dict[str, Any]:
    gateway = platform.procs["gateway"].pid
    async with httpx.AsyncClient(base_url=platform.gateway_url, timeout=30) as http:
        login = {"username": "dispatcher1", "password": "demo"}
        token = (await http.post("/v1/auth/token", data=login)).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}

        async def feed_open() -> bool:  # the gateway's stream reader opens after start-up
            answer = await http.get("/v1/stream", params={"replay_only": "true"}, headers=headers)
            return answer.status_code == 200

        await eventually(feed_open, within=30)
    before = rss_kib(gateway)
    streams = [Client() for _ in range(clients)]
    tasks = [
        asyncio.create_task(listen("127.0.0.1", platform.ports.gateway, token, c)) for c in streams
    ]
    async with asyncio.timeout(60):
        await asyncio.gather(*(c.ready.wait() for c in streams))
    connected = rss_kib(gateway)
    bus = Bus(
        url=platform.nats_url, name="bench-publisher", **platform.credentials("case_tracking")
    )
    await bus.connect()
    cpu_before, wall_before = cpu_seconds([gateway]), time.monotonic()
    own_before = time.process_time()
    sent = await publish(bus, rate=rate, seconds=seconds, cases=cases, new_per_s=new_per_s)

    async def delivered() -> bool:
        return all(len(c.got) >= len(sent) for c in streams)

    with contextlib.suppress(AssertionError):  # what is still missing then is counted as lost
        await eventually(delivered, within=30)
    wall = time.monotonic() - wall_before
    cpu = (cpu_seconds([gateway]) - cpu_before) / wall
    own = (time.process_time() - own_before) / wall
    await bus.close()
    after = rss_kib(gateway)
    crashed = [t for t in tasks if t.done() and not t.cancelled() and t.exception()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    every = [
        max(c.got[i] for c in streams if i in c.got) - t
        for i, t in sent.items()
        if all(i in c.got for c in streams)
    ]
    deliveries = [c.got[i] - t for c in streams for i, t in sent.items() if i in c.got]
    to_every = percentiles([1000 * v for v in every])
    return {
        "clients": clients,
        "rate_per_s": rate,
        "events": len(sent),
        "cases": cases if new_per_s <= 0 else None,
        "new_cases_per_s": new_per_s or None,
        "lost": sum(1 for c in streams for i in sent if i not in c.got),
        "doubled": sum(c.doubled for c in streams),
        "clients_failed": len(crashed),
        "publish_to_every_client_ms": to_every,
        "publish_to_one_client_ms": percentiles([1000 * v for v in deliveries]),
        "rss_kib_before": before,
        "rss_kib_per_client": round((connected - before) / clients, 1),
        "rss_kib_after_run": after,
        "gateway_cpu_share_of_one_core": round(cpu, 3),
        "bench_client_cpu_share_of_one_core": round(own, 3),  # on the same cores
        "loadavg": list(os.getloadavg()),  # other work on the machine skews the latencies
    }


async def run(
    *, clients: int, rate: float, seconds: float, cases: int, new_per_s: float = 0.0
) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="hulei-bench-stream-") as tmp:
        platform = Platform(var_dir=Path(tmp) / "var", ports=Ports.free(), extra_env=LIFTED)
        platform.var_dir.mkdir(parents=True)
        try:
            platform.start_nats()
            platform.declare_streams()
            platform.start_process("gateway")
            return await measure(
                platform,
                clients=clients,
                rate=rate,
                seconds=seconds,
                cases=cases,
                new_per_s=new_per_s,
            )
        finally:
            platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--rate", type=float, default=50.0, help="events a second")
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--cases", type=int, default=50, help="distinct cases the events name")
    parser.add_argument(
        "--new-per-s",
        type=float,
        default=0.0,
        help="instead of --cases: a new case at this rate, the other events naming open ones",
    )
    args = parser.parse_args()
    result = uvloop.run(  # as the gateway runs (shared/serve.py): the client costs less
        run(
            clients=args.clients,
            rate=args.rate,
            seconds=args.seconds,
            cases=args.cases,
            new_per_s=args.new_per_s,
        )
    )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
