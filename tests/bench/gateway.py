"""The gateway against its floor: `POST /v1/reports` beside a bare FastAPI POST endpoint.

    python -m tests.bench.gateway [--requests 400] [--concurrency 1 8]

In one run, on the same server stack as the gateway (uvicorn as `shared/serve.py` starts it:
uvloop, httptools, no access log), measures a bare FastAPI endpoint that takes a pydantic body
and the platform's `POST /v1/reports` (started as `make run` does, rate limit lifted), at each
concurrency: requests/s, the ratio to the floor, and the CPU milliseconds per request of the
server process (the gateway's alone, from /proc; the services and NATS work too, see
`tests.bench.cpu` for all processes). Self-contained so that `make bench` can reuse it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel

from deploy.launcher import Platform, Ports, free_port, wait_until
from tests.bench.cpu import cpu_seconds

BODY = {
    "school_id": "sch-01",
    "category": "truancy",
    "description": "Absent since Monday",
    "student": {"name": "Bench Student"},
}


class Student(BaseModel):
    name: str


class Body(BaseModel):
    school_id: str
    category: str
    description: str
    student: Student


class Created(BaseModel):
    id: str
    school_id: str
    category: str


def floor_app() -> FastAPI:
    """The floor: a POST endpoint with a pydantic body, nothing else."""
    app = FastAPI()

    @app.post("/reports", status_code=201)
    async def create(body: Body) -> Created:
        return Created(id="r-1", school_id=body.school_id, category=body.category)

    return app


def serve_floor(port: int) -> None:
    # As shared/serve.py runs the gateway (uvicorn's defaults pick uvloop and httptools).
    uvicorn.run(floor_app(), host="127.0.0.1", port=port, log_config=None, access_log=False)


@dataclass
class Result:
    rate: float  # requests/s
    cpu_ms: float  # of the server process, per request


async def load(
    url: str, path: str, *, requests: int, concurrency: int, headers: dict[str, str]
) -> float:
    """Seconds to send `requests` POSTs, `concurrency` at a time (after a short warm-up)."""
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=limits) as http:

        async def worker(numbers: Any) -> None:
            for _ in numbers:
                r = await http.post(path, json=BODY, headers=headers)
                if r.status_code != 201:
                    raise SystemExit(f"{path}: {r.status_code} {r.text}")

        warm = iter(range(2 * concurrency))
        await asyncio.gather(*(worker(warm) for _ in range(concurrency)))
        numbers = iter(range(requests))
        started = time.perf_counter()
        await asyncio.gather(*(worker(numbers) for _ in range(concurrency)))
        return time.perf_counter() - started


def measure(
    url: str,
    path: str,
    pid: int,
    *,
    requests: int,
    concurrency: int,
    headers: dict[str, str] | None = None,
) -> Result:
    before = cpu_seconds([pid])
    took = asyncio.run(
        load(url, path, requests=requests, concurrency=concurrency, headers=headers or {})
    )
    # The warm-up's CPU is counted too; it is small beside `requests`.
    used = cpu_seconds([pid]) - before
    return Result(rate=requests / took, cpu_ms=1000 * used / (requests + 2 * concurrency))


def token(url: str) -> str:
    answer = httpx.post(
        f"{url}/v1/auth/token", data={"username": "teacher1", "password": "demo"}, timeout=30
    )
    answer.raise_for_status()
    return str(answer.json()["access_token"])


def run_floor(
    concurrencies: list[int], requests: int, measure_at: Callable[..., Result]
) -> dict[int, Result]:
    port = free_port()
    argv = [sys.executable, "-m", "tests.bench.gateway", "--serve-floor", str(port)]
    root = Path(__file__).resolve().parents[2]
    floor = subprocess.Popen(argv, cwd=root)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_until(
            lambda: httpx.get(f"{url}/docs", timeout=1.0).status_code == 200,
            within=30,
            what="floor",
        )
        return {
            c: measure_at(url, "/reports", floor.pid, requests=requests, concurrency=c)
            for c in concurrencies
        }
    finally:
        floor.terminate()
        floor.wait(timeout=15)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=400)
    parser.add_argument("--concurrency", type=int, nargs="+", default=[1, 8])
    parser.add_argument("--serve-floor", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_floor:
        serve_floor(args.serve_floor)
        return
    floor = run_floor(args.concurrency, 5 * args.requests, measure)
    with tempfile.TemporaryDirectory(prefix="hulei-bench-") as tmp:
        # One client sends everything: lift the per-client rate limit; a busy shared machine
        # may take longer than the default 5 s to answer.
        lifted = {
            "HULEI_GATEWAY_RATE_PER_S": "100000",
            "HULEI_GATEWAY_RATE_BURST": "100000",
            "HULEI_GATEWAY_SERVICE_TIMEOUT_S": "60",
        }
        platform = Platform(var_dir=Path(tmp), ports=Ports.free(), extra_env=lifted)
        platform.start()
        try:
            url = platform.gateway_url
            auth = {"Authorization": f"Bearer {token(url)}"}
            pid = platform.procs["gateway"].pid
            gateway = {
                c: measure(
                    url, "/v1/reports", pid, requests=args.requests, concurrency=c, headers=auth
                )
                for c in args.concurrency
            }
        finally:
            platform.stop()
    print(f"{'concurrency':>11} {'floor/s':>8} {'gateway/s':>9} {'ratio':>6} "
          f"{'floor CPU':>10} {'gateway CPU':>12}")  # fmt: skip
    for c in args.concurrency:
        f, g = floor[c], gateway[c]
        print(
            f"{c:>11} {f.rate:>8.0f} {g.rate:>9.0f} {100 * g.rate / f.rate:>5.1f}% "
            f"{f.cpu_ms:>7.2f} ms {g.cpu_ms:>9.2f} ms"
        )
    print(f"(CPU per request of the server process alone; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
