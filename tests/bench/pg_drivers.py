"""Micro-benchmark behind the PostgreSQL driver choice (psycopg 3 vs asyncpg), see docs/stores.md.

    .venv/bin/pip install "psycopg[binary,pool]"   # the contender; not a project dependency
    .venv/bin/python -m tests.bench.pg_drivers     # starts its own throwaway server

Each round: N inserts (one transaction each, as a unit of work), N gets by id, N transactions
that read a document then find by an indexed field and write — jsonb documents like the store's.
"""

from __future__ import annotations

import asyncio
import json
import time

from tests.pgserver import PgServer, find_bin_dir

N = 2000
ROUNDS = 4
DDL = (
    "CREATE TABLE t (id text PRIMARY KEY, seq bigserial, doc jsonb NOT NULL);"
    "CREATE INDEX t_school ON t ((doc->'school'), id)"
)


def _doc(i: int) -> dict[str, object]:
    return {"id": f"d{i}", "school": f"s{i % 50}", "n": i, "text": "x" * 200}


async def bench_psycopg(url: str) -> dict[str, float]:
    from psycopg.types.json import Jsonb
    from psycopg_pool import AsyncConnectionPool

    out: dict[str, float] = {}
    async with AsyncConnectionPool(
        url, min_size=4, max_size=4, open=False, kwargs={"autocommit": True}
    ) as pool:
        await pool.open(wait=True)
        async with pool.connection() as conn:
            await conn.execute(DDL)
        t = time.perf_counter()
        for i in range(N):
            async with pool.connection() as conn, conn.transaction():
                d = _doc(i)
                await conn.execute("INSERT INTO t (id, doc) VALUES (%s, %s)", (d["id"], Jsonb(d)))
        out["insert"] = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(N):
            async with pool.connection() as conn:
                cur = await conn.execute("SELECT doc FROM t WHERE id = %s", (f"d{i}",))
                await cur.fetchone()
        out["get"] = time.perf_counter() - t
        t = time.perf_counter()
        for i in range(N):
            async with pool.connection() as conn, conn.transaction():
                cur = await conn.execute("SELECT doc FROM t WHERE id = %s", (f"d{i}",))
                await cur.fetchone()
                cur = await conn.execute(
                    "SELECT doc FROM t WHERE doc->'school' = %s ORDER BY id LIMIT 20",
                    (Jsonb(f"s{i % 50}"),),
                )
                await cur.fetchall()
                await conn.execute("UPDATE t SET doc = %s WHERE id = %s", (Jsonb(_doc(i)), f"d{i}"))
        out["find_in_tx"] = time.perf_counter() - t
    return out


async def bench_asyncpg(url: str) -> dict[str, float]:
    import asyncpg

    out: dict[str, float] = {}
    pool = await asyncpg.create_pool(url, min_size=4, max_size=4)
    async with pool.acquire() as conn:
        await conn.execute(DDL)
    t = time.perf_counter()
    for i in range(N):
        async with pool.acquire() as conn, conn.transaction():
            d = _doc(i)
            sql = "INSERT INTO t (id, doc) VALUES ($1, $2::jsonb)"
            await conn.execute(sql, d["id"], json.dumps(d))
    out["insert"] = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(N):
        async with pool.acquire() as conn:
            await conn.fetchrow("SELECT doc FROM t WHERE id = $1", f"d{i}")
    out["get"] = time.perf_counter() - t
    t = time.perf_counter()
    for i in range(N):
        async with pool.acquire() as conn, conn.transaction():
            await conn.fetchrow("SELECT doc FROM t WHERE id = $1", f"d{i}")
            await conn.fetch(
                "SELECT doc FROM t WHERE doc->'school' = $1::jsonb ORDER BY id LIMIT 20",
                json.dumps(f"s{i % 50}"),
            )
            await conn.execute(
                "UPDATE t SET doc = $1::jsonb WHERE id = $2", json.dumps(_doc(i)), f"d{i}"
            )
    out["find_in_tx"] = time.perf_counter() - t
    await pool.close()
    return out


async def main() -> None:
    bin_dir = find_bin_dir()
    assert bin_dir is not None, "no initdb/pg_ctl"
    server = PgServer(bin_dir)
    server.start()
    try:
        for _ in range(ROUNDS):  # read the later rounds (warm caches); the machine is shared
            for name, bench in (("psycopg", bench_psycopg), ("asyncpg", bench_asyncpg)):
                url = await server.create_database(name)
                figures = await bench(url)
                ops = "  ".join(f"{k} {N / v:7.0f}/s" for k, v in figures.items())
                print(f"{name:8} {ops}")
    finally:
        server.stop()
        server.remove()


if __name__ == "__main__":
    asyncio.run(main())
