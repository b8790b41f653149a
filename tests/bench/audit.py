"""Audit trail benchmark: fill a SQLite store through the real append path, then time reads.

    python -m tests.bench.audit --entries 1000000            # minutes, not hours
    python -m tests.bench.audit --entries 20000 --requests 50

Starts its own NATS server (the AUDIT stream holds the checkpoints), runs the gateway app
in-process (ASGI, no network) in demo mode, appends `--entries` entries in group-committed
batches, publishes a checkpoint, and reports p50/p99 of `GET /v1/audit` with and without
filters, the next page, and `GET /v1/audit/verify` (incremental). Reading the trail is itself
audited, so each read also appends one entry per child its page names; that is in the figures.
Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx

from deploy.launcher import Platform, Ports
from gateway.app import create_app
from gateway.audit import ENTRIES_C, AuditLog, Event
from gateway.settings import Settings
from shared.events import utcnow

ACTIONS = ("read", "read", "read", "create", "update", "login", "export")
OUTCOMES = ("allowed",) * 18 + ("denied", "not_found")


def _event(rng: random.Random) -> Event:
    return Event(
        actor=f"user{rng.randrange(2000)}",
        role="police_officer",
        agency="police-station",
        action=rng.choice(ACTIONS),
        object_type="report",
        object_id=f"rep-{rng.randrange(10**9)}",
        child_ref=f"child-{rng.randrange(100_000)}",
        outcome=rng.choice(OUTCOMES),
        status=200,
        trace_id=f"{rng.getrandbits(128):032x}",
    )


async def fill(log: AuditLog, *, entries: int, seed: int = 7, report: bool = True) -> float:
    """Append `entries` entries: concurrent appends of 50, which the log group-commits."""
    rng = random.Random(seed)
    started = time.perf_counter()
    done = 0
    while done < entries:
        round_size = min(5000, entries - done)
        sizes = [min(50, round_size - i) for i in range(0, round_size, 50)]
        await asyncio.gather(*(log.append(*(_event(rng) for _ in range(n))) for n in sizes))
        done += round_size
        if report and done % 100_000 == 0:
            rate = done / (time.perf_counter() - started)
            print(f"  appended {done:>9,} ({rate:,.0f}/s)", flush=True)
    return time.perf_counter() - started


async def timed(call: Callable[[], Awaitable[Any]], n: int) -> dict[str, float]:
    times = []
    for _ in range(n):
        t = time.perf_counter()
        r = await call()
        times.append((time.perf_counter() - t) * 1000)
        if isinstance(r, httpx.Response) and r.status_code != 200:
            raise RuntimeError(f"{r.status_code}: {r.text[:200]}")
    times.sort()
    return {
        "p50_ms": statistics.median(times),
        "p99_ms": times[min(len(times) - 1, int(len(times) * 0.99))],
    }


async def run(
    *,
    entries: int,
    requests: int,
    workdir: Path,
    platform: Platform | None = None,
    reuse: bool = False,
) -> dict[str, Any]:
    """`platform`: a running NATS with its streams declared; else one is started here."""
    async with AsyncExitStack() as stack:
        if platform is None:
            platform = Platform(var_dir=workdir / "nats", ports=Ports.free())
            platform.var_dir.mkdir(parents=True, exist_ok=True)
            platform.start_nats()
            stack.callback(platform.stop)
            platform.declare_streams()
        settings = Settings(
            demo_mode=True,
            nats_url=platform.nats_url,
            nats_user="gateway",
            nats_password=platform.nats_passwords["gateway"],
            replayer_nats_user="replayer",
            replayer_nats_password=platform.nats_passwords["replayer"],
            store_url=f"sqlite:///{workdir / 'gateway.db'}",
            rate_per_s=1e6,  # measure the trail, not the rate limiter
            rate_burst=10**6,
        )
        app = create_app(settings)
        await stack.enter_async_context(app.router.lifespan_context(app))
        http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://gw")
        stack.push_async_callback(http.aclose)
        token = await http.post("/v1/auth/token", data={"username": "auditor1", "password": "demo"})
        headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
        log: AuditLog = app.state.audit

        fill_s = 0.0
        if not (reuse and await log.store.count(ENTRIES_C) >= entries):
            print(f"filling {entries:,} entries …", flush=True)
            fill_s = await fill(log, entries=entries)
        await app.state.audit_checkpoints.publish_now()
        now = utcnow()

        def get(path: str, **params: Any) -> Callable[[], Awaitable[httpx.Response]]:
            return lambda: http.get(path, params=params, headers=headers)

        first = await http.get("/v1/audit", params={"limit": 100}, headers=headers)
        next_url = first.links["next"]["url"]
        cursor = (await log.page(limit=100))[1]
        rng = random.Random(11)
        cases: dict[str, Callable[[], Awaitable[Any]]] = {
            # The store's part alone: the read without HTTP and without auditing the read.
            "store page limit=100": lambda: log.page(limit=100),
            "store next page": lambda: log.page(limit=100, after=cursor),
            "store child_ref": lambda: log.page(child_ref="child-4242", limit=100),
            # What auditing a read costs: one entry per child the page names.
            "append 1 entry": lambda: log.append(_event(rng)),
            "append 100 entries": lambda: log.append(*(_event(rng) for _ in range(100))),
            "limit=1": get("/v1/audit", limit=1),
            "limit=20": get("/v1/audit", limit=20),
            "limit=100": get("/v1/audit", limit=100),
            "limit=100 next page": lambda: http.get(next_url, headers=headers),
            "actor, limit=100": get("/v1/audit", actor="user42", limit=100),
            "child_ref, limit=100": get("/v1/audit", child_ref="child-4242", limit=100),
            "action=export, limit=100": get("/v1/audit", action="export", limit=100),
            # An outcome the fill never gives: every page of it is past the whole trail.
            "outcome=error, limit=100": get("/v1/audit", outcome="error", limit=100),
            "actor + outcome=denied, limit=100": get(
                "/v1/audit", actor="user42", outcome="denied", limit=100
            ),
            "action + outcome=error, limit=100": get(
                "/v1/audit", action="read", outcome="error", limit=100
            ),
            # The outcome is sought (5 % of the trail), the action (never filled) checked: each
            # page reads its whole budget and ends empty.
            "outcome=denied + action=erase, limit=100": get(
                "/v1/audit", outcome="denied", action="erase", limit=100
            ),
            "since/until 1 h ago, limit=100": get(
                "/v1/audit",
                since=(now - timedelta(hours=2)).isoformat(),
                until=(now - timedelta(hours=1)).isoformat(),
                limit=100,
            ),
        }
        results: dict[str, Any] = {"entries": entries, "fill_s": round(fill_s, 1)}
        for name, call in cases.items():
            results[name] = await timed(call, requests)
        await app.state.audit_checkpoints.publish_now()  # as the periodic task would have
        results["verify (incremental)"] = await timed(get("/v1/audit/verify"), requests)
        verdict = (await get("/v1/audit/verify")()).json()
        results["verify ok"] = verdict["ok"]
        if entries <= 200_000:  # a full recompute is a maintenance job, not a request
            results["verify full"] = await timed(get("/v1/audit/verify", full="true"), 1)
        return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=100_000)
    parser.add_argument("--requests", type=int, default=200, help="timed calls per case")
    parser.add_argument("--dir", type=Path, default=None, help="keep the store here")
    parser.add_argument(
        "--reuse", action="store_true", help="measure the trail already in --dir, if as large"
    )
    args = parser.parse_args()
    workdir = args.dir or Path(tempfile.mkdtemp(prefix="hulei-audit-bench-"))
    results = asyncio.run(
        run(entries=args.entries, requests=args.requests, workdir=workdir, reuse=args.reuse)
    )
    print(f"store and NATS data in {workdir}")
    for name, value in results.items():
        if isinstance(value, dict):
            print(f"{name:<32} p50 {value['p50_ms']:7.1f} ms   p99 {value['p99_ms']:7.1f} ms")
        else:
            print(f"{name:<32} {value}")


if __name__ == "__main__":
    main()
