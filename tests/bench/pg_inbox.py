"""The unread inbox on PostgreSQL: read_at "missing or null" (None, an OR the planner filters
along the recipient's index) against read_at NULL (an equality it seeks on), alternating on
one seeded database.

    python -m tests.bench.pg_inbox                    # 1 M inbox entries, as tests/bench/lists.py
    python -m tests.bench.pg_inbox --inbox 20000 --requests 20   # a smoke run

Starts a throwaway PostgreSQL server (tests/pgserver.py), copies the entries in (the same
recipients' shares and read pattern as the lists bench: read but the newest twentieth and a
hundredth forgotten), runs notifications' migrations (building the indexes, as an upgrade
would), then walks unread pages at the store port, as `services/notifications/store.inbox`
reads them, with each filter in turn. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import time
from typing import Any

import asyncpg

from services.notifications import store as inbox_store
from shared.identity import Principal
from shared.store import NULL, Cursor, Store, open_store, postgres
from shared.store.keyset import find_page_of_any
from shared.store.migrations import migrate
from tests.bench.lists import dump, inbox_entry, principal
from tests.pgserver import PgServer, find_bin_dir

FILTERS = {"missing or null (before)": None, "NULL (after)": NULL}


def entries(inbox: int, *, seed: int = 5) -> tuple[list[tuple[str, str]], tuple[str, str]]:
    """(id, doc) rows, and the (created_at, id) of the middle one."""
    rng = random.Random(seed)
    rows, mid = [], ("", "")
    for n in range(inbox):
        doc = inbox_entry(rng, n, inbox=inbox)
        rows.append(dump(doc))
        if n == inbox // 2:
            mid = (doc["created_at"], doc["id"])
    return rows, mid


async def load(url: str, port: Store, inbox: int) -> tuple[str, str]:
    rows, mid = entries(inbox)
    await port.insert(inbox_store.INBOX_C, json.loads(rows[0][1]))  # the adapter's table
    conn = await asyncpg.connect(url)
    try:
        await conn.copy_records_to_table(
            inbox_store.INBOX_C, records=rows[1:], columns=["id", "doc"]
        )
    finally:
        await conn.close()
    await migrate(port, component="notifications", migrations=inbox_store.MIGRATIONS)
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"ANALYZE {inbox_store.INBOX_C}")
    finally:
        await conn.close()
    return mid


async def walk(
    port: Store, caller: Principal, unread: Any, *, pages: int, after: Cursor | None
) -> list[float]:
    """`pages` unread pages of 100 from `after`, following each page's cursor (from `after`
    again at the end), as the inbox use case reads them."""
    times: list[float] = []
    start, cursor = after, after
    while len(times) < pages:
        t = time.perf_counter()
        _, cursor = await find_page_of_any(
            port,
            inbox_store.INBOX_C,
            field="recipient",
            values=caller.inbox_keys,
            where={"read_at": unread},
            order_by="created_at",
            descending=True,
            limit=100,
            after=cursor,
        )
        times.append((time.perf_counter() - t) * 1000)
        cursor = cursor or start
    return times


async def plan(url: str, caller: Principal, unread: Any) -> list[str]:
    where = {"recipient": caller.inbox_keys[0], "read_at": unread}
    sql, params = postgres._select(inbox_store.INBOX_C, where, "created_at", True, 101, None)
    conn = await asyncpg.connect(url)
    try:
        explained = await conn.fetchval("EXPLAIN (FORMAT JSON) " + sql, *params)
    finally:
        await conn.close()
    node, kinds = json.loads(explained)[0]["Plan"], []
    while node:
        kinds.append(node["Node Type"] + (f" {node['Index Name']}" if "Index Name" in node else ""))
        kinds += [f"  filter {node['Filter']}"] if "Filter" in node else []
        node = (node.get("Plans") or [None])[0]
    return kinds


async def run(*, inbox: int, requests: int, rounds: int) -> None:
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PgServer(bin_dir)
    server.start()
    try:
        url = await server.create_database("inbox_bench")
        port = await open_store(url)
        t = time.perf_counter()
        mid = await load(url, port, inbox)
        print(f"seeded {inbox} entries and migrated in {time.perf_counter() - t:.0f} s")
        rows = {
            "unread desk (dispatcher1)": (principal("dispatcher1"), None),
            "unread social1 (org)": (principal("social1"), None),
            "unread officer1, mid-list": (principal("officer1"), Cursor(*mid)),
        }
        for label, unread in FILTERS.items():
            print(label, *await plan(url, principal("officer1"), unread), sep="\n  ")
        for n in range(rounds):
            for label, unread in FILTERS.items():  # alternating: before, after, before, ...
                for name, (caller, after) in rows.items():
                    await walk(port, caller, unread, pages=3, after=after)  # warm
                    times = sorted(await walk(port, caller, unread, pages=requests, after=after))
                    p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
                    print(
                        f"round {n + 1} {label:<26} {name:<28} p50 "
                        f"{statistics.median(times):7.2f} p99 {p99:7.2f} ms",
                        flush=True,
                    )
        await port.close()
    finally:
        server.stop()
        server.remove()


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--inbox", type=int, default=1_000_000)
    parser.add_argument("--requests", type=int, default=200, help="timed pages per row")
    parser.add_argument("--rounds", type=int, default=2, help="before/after pairs")
    args = parser.parse_args()
    asyncio.run(run(inbox=args.inbox, requests=args.requests, rounds=args.rounds))


if __name__ == "__main__":
    main()
