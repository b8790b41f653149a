"""`make bench`: the machine's floors and the platform, measured in one run, as one table.

    python -m tests.bench.run            # the full run (about ten minutes)
    python -m tests.bench.run --quick    # seconds, tiny numbers: that the harness works

Measures the floors first (a bare FastAPI endpoint, JetStream publishes, SQLite commits), then
starts the platform as `make run` does (deploy/launcher.py Platform, same durable settings, in a
temporary directory, the gateway's per-client rate limit lifted: one client files everything),
files reports through the gateway, follows them by the services' own timestamps, then runs the
list benchmark (tests/bench/lists.py) when present. Prints the table and writes it as JSON under
var/bench/. Not a test: nothing here asserts a time. docs/performance.md explains each row.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from deploy.launcher import Platform, Ports
from tests.bench import floors, shape
from tests.bench import stream as stream_bench
from tests.bench import sustained as sustained_bench
from tests.bench.client import percentiles
from tests.bench.flow import Bench, follow
from tests.bench.sustained import DRAIN_S, largest, settle
from tests.bench.table import Row, list_rows, render, write

LIFTED = {"HULEI_GATEWAY_RATE_PER_S": "1000000", "HULEI_GATEWAY_RATE_BURST": "1000000"}
CONCURRENCIES = [1, 8, 32]
LATENCY_RATES = [20, 50]


@dataclass(frozen=True)
class Sizes:
    floor_s: float  # per concurrency
    js_one: int
    js_pipelined: int
    sqlite_commits: int
    post_s: float  # per concurrency
    latency_s: float  # per open-loop rate
    first_rate: float  # the sustained search's first step, then ×1.4 a step
    step_s: float
    max_steps: int
    refine: int  # halvings of the ×1.4 between the last step that held and the first that did not
    sustain_s: float
    rest_s: float  # the platform with nothing to do


FULL = Sizes(5, 2000, 20000, 1000, 10, 30, 20, 10, 14, 2, 60, 30)
QUICK = Sizes(0.5, 50, 500, 50, 1, 1, 10, 1, 2, 0, 2, 1)


FLOORS = "floors of this machine"


async def measure_floors(sizes: Sizes, workdir: Path) -> tuple[list[Row], dict[int, float], float]:
    rows = [interpreter_speed_row("at the start")]
    bare = await floors.fastapi_floor(
        concurrencies=CONCURRENCIES, duration_s=sizes.floor_s, workdir=workdir
    )
    for c, r in bare.items():
        rows.append(Row(FLOORS, f"bare FastAPI POST, pydantic body, c={c}", r["rate"], *_p(r)))
    js = await floors.jetstream_floor(
        one_by_one=sizes.js_one, pipelined=sizes.js_pipelined, workdir=workdir
    )
    rows.append(Row(FLOORS, "JetStream publish (sync always), one at a time", *_rp(js["one"])))
    rows.append(
        Row(
            FLOORS,
            "JetStream publish (sync always), pipelined",
            js["pipelined"]["rate"],
            note=f"{js['pipelined']['window']} acks in flight",
        )
    )
    db = floors.sqlite_floor(commits=sizes.sqlite_commits, workdir=workdir)
    rows.append(Row(FLOORS, "SQLite commit (WAL, synchronous=FULL), inline", *_rp(db)))
    http_cpu_ms = bare[8]["server_cpu_ms"]  # the bare server's CPU per request, at c=8
    return rows, {c: r["rate"] for c, r in bare.items()}, http_cpu_ms


def interpreter_speed_row(when: str) -> Row:
    return Row(
        FLOORS,
        f"pure-Python loop, CPU per 1 M steps (the interpreter's speed), {when}",
        value=floors.python_loop_ms(),
        unit="ms",
        note=f"best of 3, {floors.interpreter()}; the bare floors show the kernel's and network's",
    )


def _p(r: dict[str, Any]) -> tuple[float | None, float | None, float | None]:
    return r["p50"], r["p95"], r["p99"]


def _rp(r: dict[str, Any]) -> tuple[float, float | None, float | None, float | None]:
    return (r["rate"], *_p(r))


async def measure_platform(
    bench: Bench, sizes: Sizes, floor_rates: dict[int, float]
) -> tuple[list[Row], dict[str, Any]]:
    group = "the platform (POST /v1/reports through the gateway)"
    rows: list[Row] = []
    extra: dict[str, Any] = {}
    refused: dict[str, int] = {}

    def note_errors(errors: dict[str, int]) -> str:
        for key, n in errors.items():
            refused[key] = refused.get(key, 0) + n
        return f"errors {errors}" if errors else ""

    for c in CONCURRENCIES:
        print(f"  POST /v1/reports, closed loop, c={c} …", flush=True)
        load = await bench.closed(concurrency=c, duration_s=sizes.post_s, tag=f"c{c}")
        row = Row(group, f"POST /v1/reports, c={c}", load.rate, *_p(percentiles(load.latencies_ms)))
        row.ratio = load.rate / floor_rates[c] if floor_rates.get(c) else None
        row.note = note_errors(load.errors)
        row.target = "≥ 10 % of floor" if c == 8 else ""
        rows.append(row)
        await bench.drain(within_s=DRAIN_S)  # the next phase starts on an idle platform

    rows.append(await at_rest(bench, seconds=sizes.rest_s))

    phases: dict[int, tuple[int, int, int]] = {}
    for rate in LATENCY_RATES:
        first = len(bench.accepted)
        print(f"  open loop, {rate} reports/s …", flush=True)
        load = await bench.open(rate=rate, duration_s=sizes.latency_s, tag=f"open{rate}")
        phases[rate] = (first, len(bench.accepted), load.sent)
        extra[f"open_loop_{rate}"] = {"max_lag_ms": load.max_lag_ms, "errors": load.errors}
        note_errors(load.errors)
        await bench.drain(within_s=DRAIN_S)

    sustained, sustained_rows = await sustained_bench.measure(
        bench,
        first_rate=sizes.first_rate,
        step_s=sizes.step_s,
        max_steps=sizes.max_steps,
        refine=sizes.refine,
        sustain_s=sizes.sustain_s,
    )
    extra["sustained"] = sustained
    note_errors(sustained["errors"])

    outcomes = follow(bench.var, bench.accepted)
    deadline = time.monotonic() + 120
    while any(o.inbox_ms is None for o in outcomes.values()) and time.monotonic() < deadline:
        await asyncio.sleep(0.5)  # the counts said done; wait (bounded) for the stragglers by id
        outcomes = follow(bench.var, bench.accepted)
    group2 = "201 → work done, open loop, services' timestamps (from filed_at)"
    for rate, (first, last, sent) in phases.items():
        ids = bench.accepted[first:last]
        for what, attr, target in (
            ("both tasks created", "tasks_ms", "p50 ≤ 15, p99 ≤ 50 ms" if rate == 50 else ""),
            ("all 4 inbox entries", "inbox_ms", ""),
        ):
            times = [t for t in (getattr(outcomes[i], attr) for i in ids) if t is not None]
            p = percentiles(times)
            rows.append(
                Row(
                    group2,
                    f"→ {what}, {rate} reports/s",
                    p50=p["p50"],
                    p95=p["p95"],
                    p99=p["p99"],
                    note=f"{len(times)} reports of {len(ids)} accepted, {sent} sent",
                    target=target,
                )
            )
    rows += sustained_rows
    lost = [i for i, o in outcomes.items() if o.tasks < 2 or o.inbox < 4]
    doubled = [i for i, o in outcomes.items() if o.tasks > 2 or o.inbox > 4]
    rows.append(
        Row(
            "nothing lost",
            "accepted reports without their 2 tasks and 4 inbox entries",
            value=float(len(lost)),
            unit=f"of {len(bench.accepted)}",
            note=f"with more: {len(doubled)}; refused or failed requests: {refused or 'none'}",
            target="0",
        )
    )
    extra["lost_report_ids"], extra["doubled_report_ids"] = lost[:50], doubled[:50]
    return rows, extra


async def at_rest(bench: Bench, *, seconds: float) -> Row:
    """What the platform spends with nothing to do: its timers, polls and pulls that expire.
    Measured once every consumer has settled, so no tail of the last phase is in it."""
    print("  at rest …", flush=True)
    await settle(bench, within_s=DRAIN_S)
    before, started = bench.cpu(), time.monotonic()
    await asyncio.sleep(seconds)  # the measured interval itself, not a wait for a condition
    after, took = bench.cpu(), time.monotonic() - started
    per_s = {name: (after[name] - before[name]) / took * 1000 for name in after}
    return Row(
        "the platform at rest",
        "CPU a second with nothing to do, all processes (from /proc)",
        value=sum(per_s.values()),
        unit="ms/s",
        note=f"over {seconds:.0f} s; " + largest(per_s),
    )


async def main_async(*, quick: bool, out: Path) -> Path:
    sizes = QUICK if quick else FULL
    meta: dict[str, Any] = {
        "mode": "quick" if quick else "full",
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": floors.machine(),
    }
    with tempfile.TemporaryDirectory(prefix="hulei-bench-") as tmp:
        workdir = Path(tmp)
        print("floors …", flush=True)
        rows, floor_rates, http_cpu_ms = await measure_floors(sizes, workdir)
        print("the floor of the shape: its parts …", flush=True)
        parts = await shape.measure_parts(quick=quick, workdir=workdir)
        rows += shape.part_rows(parts, http_ms=http_cpu_ms)
        print("the platform …", flush=True)
        platform = Platform(var_dir=workdir / "var", ports=Ports.free(), extra_env=LIFTED)
        platform.start()
        bench = Bench(platform)
        try:
            platform_rows, meta["details"] = await measure_platform(bench, sizes, floor_rates)
        finally:
            bench.close()
            platform.stop()
        rows += platform_rows
        sustained = meta["details"]["sustained"]
        rows += shape.shape_rows(
            parts,
            sustained["shape"],
            http_ms=http_cpu_ms,
            cpu_ms=sum(sustained["cpu_ms_per_report"].values()),
        )
        print("lists …", flush=True)
        (workdir / "lists").mkdir()
        rows += await list_rows(quick=quick, workdir=workdir / "lists")
    print("stream fan-out …", flush=True)
    clients = 20 if quick else 200
    fan = await stream_bench.run(clients=clients, rate=50.0, seconds=5 if quick else 20, cases=1)
    p = fan["publish_to_every_client_ms"]
    what = f"publish → all {clients} SSE clients, 50 events/s"
    rows.append(Row(group="fan-out", what=what, p50=p["p50"], p95=p["p95"], p99=p["p99"]))
    rows[-1].target = "p99 ≤ 100 ms (200 clients)"
    rows.append(
        Row(group="fan-out", what="gateway RSS per SSE client", value=fan["rss_kib_per_client"])
    )
    rows[-1].unit = "KiB"
    rows.insert(1, interpreter_speed_row("at the end"))  # beside the start's, first of the floors
    meta["finished_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    meta["machine"]["loadavg_at_end"] = list(os.getloadavg())  # other work on the machine
    stamp = meta["started_at"].replace(":", "").replace("+0000", "Z")
    path = out / f"bench-{meta['mode']}-{stamp}.json"
    write(path, rows=rows, meta=meta)
    print(render(rows))
    print(f"\nwritten to {path}")
    return path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="seconds, tiny numbers")
    parser.add_argument("--out", type=Path, default=Path("var/bench"), help="where the JSON goes")
    args = parser.parse_args()
    asyncio.run(main_async(quick=args.quick, out=args.out))


if __name__ == "__main__":
    main()
