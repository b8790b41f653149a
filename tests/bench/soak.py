"""Memory under a steady load: the RSS of every process sampled while reports arrive.

    python -m tests.bench.soak [--rate 100] [--minutes 10] [--every-s 30] [--warm-up-s 120]

Starts the platform as `make run` does in a temporary directory, files reports open loop at
`--rate` per second for `--minutes`, and samples each process's resident set (VmRSS, from
/proc) every `--every-s`. The first `--warm-up-s` of them are warm-up (caches, pools and
JIT-less Python's arenas fill); the verdict compares the rest: a process whose RSS grows by
more than 10 % from the end of warm-up to the end is reported as growing. nats-server keeps
to its memory budget (deploy/launcher.py `NATS_MEMORY`), so its RSS settles at the budget; what
tells a leak there is its live heap, which the soak reads from the Go collector's own trace
(`GODEBUG=gctrace=1`, the heap marked live at each collection). State bounded by time fills
for as long as it keeps: the de-duplication window holds every message id for 600 s, so
`--minutes 21 --warm-up-s 660` judges the live heap ten minutes after it has filled. Then
checks that every accepted report reached its tasks and inbox entries. Not a test: nothing
here fails a build.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from deploy.launcher import Platform, Ports
from tests.bench.flow import Bench

WARM_UP_S = 120.0
GROWTH_LIMIT = 0.10


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


@dataclass
class Soak:
    samples: list[tuple[float, dict[str, float]]] = field(default_factory=list)
    accepted: int = 0
    refused: dict[str, int] = field(default_factory=dict)  # by status or error
    caught_up_s: float | None = None
    warm_up_s: float = WARM_UP_S

    def verdict(self) -> dict[str, tuple[float, float, bool]]:
        """Per process: RSS at the end of warm-up, at the end, and whether it grew past 10 %."""
        warm = [s for t, s in self.samples if t >= self.warm_up_s] or [self.samples[-1][1]]
        start, end = warm[0], warm[-1]
        return {
            name: (start[name], end[name], end[name] > start[name] * (1 + GROWTH_LIMIT))
            for name in start
        }


# One line per collection: "gc 7 @12.7s 0%: … ms cpu, 62->62->34 MB, 63 MB goal, …".
_GC = re.compile(r"^gc \d+ @(?P<at>[0-9.]+)s .*->(?P<live>\d+) MB, \d+ MB goal")


def live_heap(log: Path) -> list[tuple[float, int]]:
    """(seconds since the server started, MB marked live) for each collection in its log."""
    lines = log.read_text(errors="replace").splitlines()
    return [(float(m["at"]), int(m["live"])) for line in lines if (m := _GC.match(line))]


def heap_line(collections: list[tuple[float, int]], warm_up_s: float) -> str:
    after = [mb for at, mb in collections if at >= warm_up_s]
    if len(after) < 2:
        return f"nats live heap: {len(after)} collections after warm-up, too few to judge"
    every = (collections[-1][0] - warm_up_s) / len(after)
    return (
        f"nats live heap at its collections after warm-up: {after[0]} → {after[-1]} MB "
        f"({len(after)} collections, one every {every:.0f} s; path {' '.join(map(str, after))})"
    )


async def soak(
    bench: Bench, *, rate: float, minutes: float, every_s: float, warm_up_s: float = WARM_UP_S
) -> Soak:
    result = Soak(warm_up_s=warm_up_s)
    started = time.monotonic()
    deadline = started + minutes * 60

    def sample() -> None:
        moment = time.monotonic() - started
        result.samples.append((moment, {n: rss_mib(pid) for n, pid in bench.pids.items()}))

    sample()
    step = 0
    while time.monotonic() < deadline:
        step += 1
        load = await bench.open(rate=rate, duration_s=every_s, tag=f"soak{step}")
        result.accepted += len(load.bodies)
        for kind, n in load.errors.items():
            result.refused[kind] = result.refused.get(kind, 0) + n
        sample()
    result.caught_up_s = await bench.drain(within_s=300)
    bench.close()  # on the loop its connections belong to
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=100)
    parser.add_argument("--minutes", type=float, default=10)
    parser.add_argument("--every-s", type=float, default=30)
    parser.add_argument("--warm-up-s", type=float, default=WARM_UP_S)
    args = parser.parse_args()
    os.environ["GODEBUG"] = "gctrace=1"  # nats-server's collections, in its log
    with tempfile.TemporaryDirectory(prefix="hulei-soak-") as tmp:
        lifted = {"HULEI_GATEWAY_RATE_PER_S": "100000", "HULEI_GATEWAY_RATE_BURST": "100000"}
        platform = Platform(var_dir=Path(tmp), ports=Ports.free(), extra_env=lifted)
        platform.start()
        bench = Bench(platform)
        try:
            result = asyncio.run(
                soak(
                    bench,
                    rate=args.rate,
                    minutes=args.minutes,
                    every_s=args.every_s,
                    warm_up_s=args.warm_up_s,
                )
            )
        finally:
            platform.stop()
        collections = live_heap(Path(tmp) / "logs" / f"{platform.nats_names[0]}.log")
    print(
        f"{args.rate:.0f} reports/s offered for {args.minutes:g} min: {result.accepted} accepted,"
    )
    caught_up = "not" if result.caught_up_s is None else f"{result.caught_up_s:.1f} s"
    refused = sum(result.refused.values())
    kinds = f" ({', '.join(f'{k}: {n}' for k, n in result.refused.items())})" if refused else ""
    print(f"{refused} refused or failed{kinds}; caught up {caught_up} after the load")
    print(heap_line(collections, args.warm_up_s))
    print(f"{'process':16} {'RSS after warm-up':>18} {'RSS at end':>11}  verdict  path (MiB)")
    for name, (start, end, grew) in result.verdict().items():
        # The path tells a cache filling to its bound (flattening) from a leak (steady).
        path = " ".join(f"{sample[name]:.0f}" for _, sample in result.samples)
        verdict = "GROWING" if grew else "flat"
        print(f"{name:16} {start:15.1f} MiB {end:7.1f} MiB  {verdict:7}  {path}")


if __name__ == "__main__":
    main()
