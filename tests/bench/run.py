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
from tests.bench.client import percentiles
from tests.bench.flow import Bench, follow
from tests.bench.table import Row, list_rows, render, write

LIFTED = {"HULEI_GATEWAY_RATE_PER_S": "1000000", "HULEI_GATEWAY_RATE_BURST": "1000000"}
CONCURRENCIES = [1, 8, 32]
LATENCY_RATES = [20, 50]
DRAIN_S = 600.0  # a backlog still there after ten minutes is reported, not waited for


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
    sustain_s: float


FULL = Sizes(5, 2000, 20000, 1000, 10, 30, 20, 10, 14, 60)
QUICK = Sizes(0.5, 50, 500, 50, 1, 1, 10, 1, 2, 2)


async def measure_floors(sizes: Sizes, workdir: Path) -> tuple[list[Row], dict[int, float], float]:
    group = "floors of this machine"
    rows = []
    bare = await floors.fastapi_floor(
        concurrencies=CONCURRENCIES, duration_s=sizes.floor_s, workdir=workdir
    )
    for c, r in bare.items():
        rows.append(Row(group, f"bare FastAPI POST, pydantic body, c={c}", r["rate"], *_p(r)))
    js = await floors.jetstream_floor(
        one_by_one=sizes.js_one, pipelined=sizes.js_pipelined, workdir=workdir
    )
    rows.append(Row(group, "JetStream publish (sync always), one at a time", *_rp(js["one"])))
    rows.append(
        Row(
            group,
            "JetStream publish (sync always), pipelined",
            js["pipelined"]["rate"],
            note=f"{js['pipelined']['window']} acks in flight",
        )
    )
    db = floors.sqlite_floor(commits=sizes.sqlite_commits, workdir=workdir)
    rows.append(Row(group, "SQLite commit (WAL, synchronous=FULL), inline", *_rp(db)))
    http_cpu_ms = bare[8]["server_cpu_ms"]  # the bare server's CPU per request, at c=8
    return rows, {c: r["rate"] for c, r in bare.items()}, http_cpu_ms


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

    phases: dict[int, tuple[int, int, int]] = {}
    for rate in LATENCY_RATES:
        first = len(bench.accepted)
        print(f"  open loop, {rate} reports/s …", flush=True)
        load = await bench.open(rate=rate, duration_s=sizes.latency_s, tag=f"open{rate}")
        phases[rate] = (first, len(bench.accepted), load.sent)
        extra[f"open_loop_{rate}"] = {"max_lag_ms": load.max_lag_ms, "errors": load.errors}
        note_errors(load.errors)
        await bench.drain(within_s=DRAIN_S)

    sustained, sustained_rows = await measure_sustained(bench, sizes)
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


async def measure_sustained(bench: Bench, sizes: Sizes) -> tuple[dict[str, Any], list[Row]]:
    """Step the open-loop rate up by ×1.4 while the platform keeps up (everything offered in
    a step done within 2 s of its end; down by ÷1.4 if the first step is already too fast),
    then hold the highest rate that kept up for `sustain_s`."""
    steps = []
    rate, best, factor = sizes.first_rate, None, 1.4
    for _ in range(sizes.max_steps):
        print(f"  step: {rate:.0f} reports/s …", flush=True)
        load = await bench.open(rate=rate, duration_s=sizes.step_s, tag=f"step{rate:.0f}")
        backlog_s = await bench.drain(within_s=DRAIN_S)
        behind = load.elapsed_s - sizes.step_s + (backlog_s if backlog_s is not None else DRAIN_S)
        held = not load.errors and behind <= 2.0
        steps.append({"rate": rate, "behind_s": behind, "held": held, "errors": load.errors})
        if held:
            best = rate
            if factor < 1:
                break  # stepping down: the first rate that holds
        elif best is not None:
            break  # stepping up: the last rate that held
        else:
            factor = 1 / 1.4  # the first step was already too fast: step down instead
        rate *= factor
    offered = best if best is not None else rate
    print(f"  sustained: {offered:.0f} reports/s for {sizes.sustain_s:.0f} s …", flush=True)
    counts_before = await shape.snapshot(bench.platform)  # outside the CPU window
    cpu_before, started = bench.cpu(), time.monotonic()
    load = await bench.open(rate=offered, duration_s=sizes.sustain_s, tag="sustain")
    drained = await bench.drain(within_s=DRAIN_S)
    total_s = time.monotonic() - started
    cpu_after = bench.cpu()
    counts_after = await shape.snapshot(bench.platform)
    used = {name: cpu_after[name] - before for name, before in cpu_before.items()}
    per_report = {name: 1000 * s / max(1, load.ok) for name, s in used.items()}
    kept_up = drained is not None and total_s <= sizes.sustain_s + 2.0
    rows = [
        Row(
            "sustained",
            f"end to end for {sizes.sustain_s:.0f} s (open loop)",
            load.ok / total_s,
            note=f"offered {offered:.0f}/s, "
            + ("kept up" if kept_up else f"done {total_s - sizes.sustain_s:.1f} s late")
            + (f", refused or failed {load.errors}" if load.errors else ""),
            target="≥ 300/s, 0 lost",
        ),
        Row(
            "sustained",
            "CPU per report, all processes (from /proc)",
            value=sum(per_report.values()),
            unit="ms",
            note="during the sustained run; " + _top(per_report),
            target="≤ 5 ms",
        ),
    ]
    result = {
        "steps": steps,
        "offered_per_s": offered,
        "accepted": load.ok,
        "errors": load.errors,
        "total_s": total_s,
        "kept_up": kept_up,
        "cpu_ms_per_report": per_report,
        "shape": shape.shape(counts_before, counts_after, load.ok),
    }
    return result, rows


def _top(per_process: dict[str, float]) -> str:
    top = sorted(per_process.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"{name} {ms:.1f}" for name, ms in top)


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
