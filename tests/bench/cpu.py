"""CPU per report across the platform's processes, and end-to-end throughput.

    python -m tests.bench.cpu [--reports 300] [--concurrency 8] [--store postgres]
    python -m tests.bench.cpu --rate 200 [--seconds 40]
    python -m tests.bench.cpu … --ready-file R --go-file G   (tests/bench/ab.py runs two so)

Starts the platform as `make run` does (same durable settings) in a temporary directory, files
`--reports` concern reports through the gateway (or, with `--rate`, open loop at that many a
second for `--seconds`: what the platform does when reports come faster than it keeps up, it
refuses some), waits until case_tracking holds both tasks of each accepted report and
notifications the inbox entries (read from their SQLite files, read-only: no audited polling),
and prints the CPU time (user + system, from /proc) all processes spent per accepted report.
The quick measure the changes of issue 15 are judged by; `make bench` is the full table.

`--store postgres`: every process on its own database of one PostgreSQL server run as
production runs it (tests/bench/pgstore.py); the server's processes count in the CPU, and the
statements and transactions each process ran are printed per report too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sqlite3
import tempfile
import time
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import httpx

from deploy.launcher import SERVICES, Platform, Ports
from tests.bench.ab import Gate, exit_on_sigterm
from tests.support import proc_stat, sample

if TYPE_CHECKING:
    from tests.bench.flow import Bench  # which imports this module's counters

T = TypeVar("T")

TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        fields = proc_stat(pid)
        total += int(fields[11]) + int(fields[12])  # utime, stime
    return total / TICKS


def count(db: Path, table: str) -> int:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        (n,) = conn.execute(f"SELECT count(*) FROM {table}").fetchone()  # noqa: S608 - ours
        return int(n)


async def file_reports(
    url: str, *, reports: int, concurrency: int, headers: dict[str, str], tag: str = "cpu"
) -> tuple[float, list[str]]:
    """Seconds it took, and the ids of the reports filed (`headers`: a teacher's token; `tag`
    tells these reports' children from another call's)."""
    from tests.bench.floors import report_body  # which imports this module's counters

    async with httpx.AsyncClient(base_url=url, timeout=30) as http:
        numbers = iter(range(reports))
        filed: list[str] = []
        started = time.perf_counter()

        async def worker() -> None:
            for n in numbers:
                r = await http.post("/v1/reports", json=report_body(n, tag=tag), headers=headers)
                r.raise_for_status()
                filed.append(r.json()["id"])

        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, filed


@contextmanager
def started_platform(store_env: dict[str, str] | None = None) -> Iterator[Platform]:
    """The platform as `make run` starts it, in a temporary directory; stopped after.
    `store_env`: where each process's store is, when not its SQLite file."""
    with tempfile.TemporaryDirectory(prefix="hulei-bench-") as tmp:
        # One client files everything: lift the per-client rate limit, not the work.
        lifted = {"HULEI_GATEWAY_RATE_PER_S": "100000", "HULEI_GATEWAY_RATE_BURST": "100000"}
        env = {**lifted, **(store_env or {})}
        platform = Platform(var_dir=Path(tmp), ports=Ports.free(), extra_env=env)
        platform.start()
        try:
            yield platform
        finally:
            platform.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--rate", type=float, help="open loop, reports a second (not --reports)")
    parser.add_argument("--seconds", type=float, default=40.0, help="with --rate: how long")
    parser.add_argument("--store", choices=("sqlite", "postgres"), default="sqlite")
    parser.add_argument(
        "--warm-up", type=int, default=0, help="reports filed (and done) before measuring"
    )
    parser.add_argument("--ready-file", type=Path, help="created once warm, before the load")
    parser.add_argument("--go-file", type=Path, help="the load starts once this file exists")
    args = parser.parse_args()
    exit_on_sigterm()  # the platform started is stopped
    gate = Gate(args.ready_file, args.go_file) if args.go_file else None
    if args.rate:
        open_loop_cpu(
            rate=args.rate,
            seconds=args.seconds,
            store=args.store,
            warm_up=args.warm_up,
            gate=gate,
        )
    else:
        closed_loop_cpu(
            reports=args.reports,
            concurrency=args.concurrency,
            store=args.store,
            warm_up=args.warm_up,
            gate=gate,
        )


def closed_loop_cpu(
    *,
    reports: int,
    concurrency: int,
    store: str = "sqlite",
    warm_up: int = 0,
    gate: Gate | None = None,
) -> None:
    async def load(bench: Bench) -> tuple[float, float]:
        """Seconds to file the reports, and until both tasks and the inbox entries of each
        are stored (polled from the services' files: no audited polling)."""
        posted_s, filed = await file_reports(
            bench.platform.gateway_url,
            reports=reports,
            concurrency=concurrency,
            headers=await bench.headers(),
        )
        bench.accepted += filed
        return posted_s, posted_s + await _drained(bench)

    (posted_s, done_s), used = _measured(load, store, warm_up, gate)
    _print_cost(
        f"{reports} reports at concurrency {concurrency}: POST {reports / posted_s:.0f}/s, "
        f"end to end {reports / done_s:.0f}/s,",
        used,
        per=reports,
        what="per report",
    )


def open_loop_cpu(
    *,
    rate: float,
    seconds: float,
    store: str = "sqlite",
    warm_up: int = 0,
    gate: Gate | None = None,
) -> None:
    async def load(bench: Bench) -> tuple[int, dict[str, int]]:
        try:
            filed = await bench.open(rate=rate, duration_s=seconds, tag="cpu")
            await _drained(bench)
            return len(filed.bodies), filed.errors
        finally:
            bench.close()

    (accepted, refused), used = _measured(load, store, warm_up, gate)
    _print_cost(
        f"open loop {rate:.0f}/s for {seconds:.0f} s: {accepted} accepted, refused {refused or 0},",
        used,
        per=accepted,
        what="per accepted report",
    )


def _measured(
    load: Callable[[Bench], Coroutine[None, None, T]],
    store: str,
    warm_up: int,
    gate: Gate | None = None,
) -> tuple[T, dict[str, float]]:
    """`load`'s result on a started platform, and each process's CPU seconds during it;
    `warm_up` reports filed and done first, outside the window (connections opened, each
    statement prepared, caches filled), then `gate` waited for."""
    from tests.bench.flow import Bench

    if store == "sqlite":
        with started_platform() as platform:
            bench = Bench(platform)
            _warm(bench, warm_up)
            if gate is not None:
                gate.wait()
            before, commits_before = bench.cpu(), commits(platform)
            accepted_before = len(bench.accepted)
            result = asyncio.run(load(bench))
            used = {name: s - before[name] for name, s in bench.cpu().items()}
            _print_commits(platform, commits_before, len(bench.accepted) - accepted_before)
            return result, used
    return _measured_on_postgres(load, warm_up, gate)


def commits(platform: Platform) -> dict[str, tuple[float, float]]:
    """Each service's store commits so far, and the units of work they carried (its metrics)."""
    counted: dict[str, tuple[float, float]] = {}
    for name in SERVICES:
        text = httpx.get(f"{platform.service_url(name)}/metrics", timeout=5).text
        counted[name] = (
            sample(text, "hulei_store_commits_total") or 0.0,
            sample(text, "hulei_units_of_work_committed_total") or 0.0,
        )
    return counted


def _print_commits(platform: Platform, before: dict[str, tuple[float, float]], filed: int) -> None:
    """Commits per report filed, and units of work per commit (group commit, shared/commits.py)."""
    after, per = commits(platform), []
    for name, (n, units) in after.items():
        n, units = n - before[name][0], units - before[name][1]
        per.append(f"{name} {n / max(filed, 1):.2f} ({units / max(n, 1):.1f} units each)")
    print("store commits per report: " + ", ".join(per))


def _warm(bench: Bench, reports: int) -> None:
    async def warm() -> None:
        if reports:
            headers = await bench.headers()
            _, filed = await file_reports(
                bench.platform.gateway_url,
                reports=reports,
                concurrency=8,
                headers=headers,
                tag="warm",
            )
            bench.accepted += filed
            await _drained(bench)

    asyncio.run(warm())


def _measured_on_postgres(
    load: Callable[[Bench], Coroutine[None, None, T]], warm_up: int, gate: Gate | None
) -> tuple[T, dict[str, float]]:
    """As `_measured`, every process on PostgreSQL: the server's CPU ("postgres") counted too,
    and what each process asked of it (statements, transactions) printed per report filed."""
    from tests.bench.flow import Bench
    from tests.bench.pgstore import PgRows, production_postgres, server_cpu

    with production_postgres() as (server, env), started_platform(env) as platform:
        rows = PgRows(server, env)
        try:
            bench = Bench(platform, counter=rows.count)
            _warm(bench, warm_up)
            if gate is not None:
                gate.wait()
            before, server_before = bench.cpu(), server_cpu(server)
            asked_before, commits_before = rows.stats(), commits(platform)
            accepted_before = len(bench.accepted)
            result = asyncio.run(load(bench))
            used = {name: s - before[name] for name, s in bench.cpu().items()}
            # A backend that ended during the load took its CPU with it: a lower bound.
            used["postgres"] = sum(
                s - server_before.get(pid, 0.0) for pid, s in server_cpu(server).items()
            )
            filed = max(len(bench.accepted) - accepted_before, 1)
            for what, counts, earlier in zip(
                ("statements", "transactions"), rows.stats(), asked_before, strict=True
            ):
                per = {p: (counts[p] - earlier[p]) / filed for p in counts if p != "other"}
                print(
                    f"{what} per report: {sum(per.values()):.1f} "
                    f"({', '.join(f'{p} {n:.1f}' for p, n in sorted(per.items()))})"
                )
            _print_commits(platform, commits_before, filed)
        finally:
            rows.close()
        return result, used


async def _drained(bench: Bench) -> float:
    caught_up_s = await bench.drain(within_s=300)
    if caught_up_s is None:
        raise SystemExit("the tasks and inbox entries did not all arrive in 5 min")
    return caught_up_s


def _print_cost(headline: str, used: dict[str, float], *, per: int, what: str) -> None:
    from tests.bench.floors import interpreter, python_loop_ms  # they import this module

    # Runs compare only where the interpreter ran at one speed (docs/performance.md, "The rows").
    print(f"interpreter: pure-Python loop {python_loop_ms():.1f} ms per 1 M steps, {interpreter()}")
    total = sum(used.values())
    print(f"{headline} CPU {1000 * total / per:.2f} ms {what} (all processes)")
    print(", ".join(f"{name} {1000 * s / per:.2f}" for name, s in used.items()))


if __name__ == "__main__":
    main()
