"""CPU per report while one child's history grows: does a change cost more for a child with
many reports than for a new one?

    python -m tests.bench.history [--reports 600] [--windows 4]

Starts the platform as `make run` does (same durable settings) in a temporary directory and
files `--reports` concern reports about one child, one at a time, in `--windows` equal windows.
After each window, once no durable consumer has a message waiting, it reads each process's CPU
(user + system, from /proc) and prints it per report. Work that grows with the child's history
(its reports, its case's chronology) shows as a rising row; the last column is the last window
÷ the first. Every other bench files each report about another child, so it cannot see this.
"""

from __future__ import annotations

import argparse
import asyncio

import httpx

from tests.bench.cpu import started_platform
from tests.bench.floors import report_body
from tests.bench.flow import Bench
from tests.bench.sustained import settle

ONE_CHILD = {
    "school_id": "sch-01",
    "category": "truancy",
    "description": "Absent again",
    "student": {"name": "Bench History Child"},
}
WARM_UP = 20


async def measure(bench: Bench, *, reports: int, windows: int) -> dict[str, list[float]]:
    """Per process, its CPU per report (ms) in each window."""
    per_window = max(1, reports // windows)
    rows: dict[str, list[float]] = {name: [] for name in bench.pids}
    headers = await bench.headers()
    async with httpx.AsyncClient(base_url=bench.platform.gateway_url, timeout=60) as http:
        for n in range(WARM_UP):  # first-time paths and pools, about other children
            body = report_body(n, tag="history-warm-up")
            (await http.post("/v1/reports", json=body, headers=headers)).raise_for_status()
        for _ in range(windows):
            before = bench.cpu()
            for _ in range(per_window):
                (await http.post("/v1/reports", json=ONE_CHILD, headers=headers)).raise_for_status()
            _, settled = await settle(bench, within_s=120)
            if not settled:
                raise SystemExit("the consumers did not catch up within 2 min")
            for name, spent in bench.cpu().items():
                rows[name].append(1000 * (spent - before[name]) / per_window)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reports", type=int, default=600)
    parser.add_argument("--windows", type=int, default=4)
    args = parser.parse_args()
    with started_platform() as platform:
        bench = Bench(platform)
        rows = asyncio.run(measure(bench, reports=args.reports, windows=args.windows))
    per_window = max(1, args.reports // args.windows)
    header = [f"{w * per_window + 1}–{(w + 1) * per_window}" for w in range(args.windows)]
    print(f"CPU per report (ms), {args.reports} reports about one child, one at a time")
    print(f"{'process':16}" + "".join(f"{h:>12}" for h in header) + f"{'last÷first':>12}")
    rows["all"] = [sum(spent) for spent in zip(*rows.values(), strict=True)]
    for name, values in rows.items():
        ratio = values[-1] / values[0] if values[0] else float("nan")
        print(f"{name:16}" + "".join(f"{v:12.2f}" for v in values) + f"{ratio:12.2f}")


if __name__ == "__main__":
    main()
