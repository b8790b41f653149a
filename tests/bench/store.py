"""CPU per unit of work on the SQLite store adapter, with the durable settings it ships.

    python -m tests.bench.store [--units 2000] [--rows 200000]

Times, on a fresh file in a temporary directory (WAL, `synchronous=FULL`), the CPU (user +
system, every thread of this process: a hand-off to a worker thread costs on both sides) and
the wall time per (system time is mostly the kernel's side of fsync and thread wake-ups):
- a consumer's transaction: the processed-event check and marker, a find by an indexed field
  (limit 1), a case, two tasks and an outbox entry (the shape of case_tracking's report
  handler), one at a time and eight at once;
- a transaction that only reads (an event already processed: a get, nothing written);
- a point read by id and a page of 50 in an index's order (the reader connection).
Then fills a collection with `--rows` documents and times a `count` with a filter no index
serves, with the longest event-loop stall seen meanwhile: an unbounded statement must not
hold the loop. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from shared.store import Store, Writer, open_store


def _case(n: int) -> dict[str, object]:
    return {"id": f"case-{n}", "child_ref": f"child-{n}", "status": "open", "opened_at": n}


async def report_tx(store: Store, n: int) -> None:
    async with store.transaction() as tx:
        await _report(tx, n)


async def _report(tx: Writer, n: int) -> None:
    if await tx.get("processed", f"evt-{n}") is not None:
        return
    await tx.insert("processed", {"id": f"evt-{n}", "at": "2026-01-01T00:00:00Z"})
    await tx.find("cases", where={"child_ref": f"child-{n}", "status": "open"}, limit=1)
    await tx.insert("cases", _case(n))
    for kind in ("police", "social"):
        task = {"id": f"task-{n}-{kind}", "case_id": f"case-{n}", "status": "open"}
        await tx.insert("tasks", task | {"created_at": n})
    await tx.insert("outbox", {"id": f"out-{n}", "seq": n, "subject": "case.opened"})


async def read_only_tx(store: Store, n: int) -> None:
    async with store.transaction() as tx:
        await tx.get("processed", f"evt-{n}")


async def timed(
    name: str, units: int, step: Callable[[int], Awaitable[object]], *, at_once: int = 1
) -> None:
    numbers = iter(range(units))

    async def worker() -> None:
        for n in numbers:
            await step(n)

    before, wall = os.times(), time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(at_once)))
    after, wall = os.times(), time.perf_counter() - wall
    user, system = after.user - before.user, after.system - before.system
    print(
        f"{name:<38} {1e6 * (user + system) / units:6.0f} µs CPU "
        f"(system {1e6 * system / units:4.0f}) {1e6 * wall / units:7.0f} µs wall"
    )


async def loop_stall(work: Awaitable[object]) -> tuple[float, float]:
    """(seconds the work took, longest gap between 1 ms ticks of the loop meanwhile)."""
    longest = 0.0
    done = asyncio.Event()

    async def ticker() -> None:
        nonlocal longest
        last = time.perf_counter()
        while not done.is_set():
            await asyncio.sleep(0.001)
            now = time.perf_counter()
            longest = max(longest, now - last)
            last = now

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0.005)
    started = time.perf_counter()
    await work
    took = time.perf_counter() - started
    done.set()
    await tick
    return took, longest


def fill(path: Path, rows: int) -> None:
    """Bulk rows straight through sqlite3: the fill is not what is measured."""
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE IF NOT EXISTS bulk (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO bulk (id, doc) VALUES (?, ?)",
            ((f"b-{n}", json.dumps({"id": f"b-{n}", "n": n % 1000})) for n in range(rows)),
        )


async def run(units: int, rows: int) -> None:
    with tempfile.TemporaryDirectory(prefix="hulei-store-bench-") as tmp:
        path = Path(tmp) / "bench.db"
        store = await open_store(f"sqlite:///{path}")
        try:
            await store.ensure_index("cases", ["child_ref"])
            await store.ensure_index("tasks", ["created_at"])
            await timed("transaction (get, find, 5 inserts)", units, lambda n: report_tx(store, n))
            await timed(
                "same, eight at once",
                units,
                lambda n: report_tx(store, units + n),
                at_once=8,
            )
            await timed(
                "transaction, read only (event seen)", units, lambda n: read_only_tx(store, n)
            )
            await timed("point read (get by id)", units, lambda n: store.get("cases", f"case-{n}"))
            await timed(
                "page of 50 in index order",
                units,
                lambda n: store.find("tasks", order_by="created_at", limit=50),
            )
            fill(path, rows)
            took, stall = await loop_stall(store.count("bulk", where={"n": 7}))
            print(
                f"count over {rows} rows, unindexed filter: {1000 * took:.0f} ms, "
                f"longest event-loop stall {1000 * stall:.1f} ms"
            )
        finally:
            await store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=200_000)
    args = parser.parse_args()
    asyncio.run(run(args.units, args.rows))


if __name__ == "__main__":
    main()
