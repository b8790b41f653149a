"""The platform on PostgreSQL, the production store, for the benches.

One server as production runs it (fsync, full-page writes and synchronous commits on), a
database for each process, as an operator points them (tests/pgserver.py). `PgRows` reads what
a bench needs while the platform runs: row counts for `Bench.done`, and per process the
statements and transactions it ran (pg_stat_statements; the bench's own queries, made as
another role, left out). Its queries run on
a thread of their own, since `Bench`'s polls are synchronous and called from the bench's loop.
"""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from collections.abc import Coroutine, Iterator
from contextlib import contextmanager, suppress
from typing import Any, TypeVar

import asyncpg

from tests.bench.cpu import cpu_seconds
from tests.pgserver import PgServer, find_bin_dir, store_url_key

T = TypeVar("T")
BENCH_ROLE = "bench"


@contextmanager
def production_postgres() -> Iterator[tuple[PgServer, dict[str, str]]]:
    """A started server and the environment that points each process at its own database."""
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise SystemExit("PostgreSQL binaries (initdb, pg_ctl) not found: `make postgres-bin`")
    server = PgServer(bin_dir, flushed=True, counted=True)
    server.start()
    try:
        yield server, asyncio.run(_prepared(server))
    finally:
        server.stop()
        server.remove()


async def _prepared(server: PgServer) -> dict[str, str]:
    conn = await asyncpg.connect(server.url())
    try:  # the bench's own queries, told apart from the platform's by their role
        await conn.execute(f"CREATE ROLE {BENCH_ROLE} LOGIN SUPERUSER")
        await conn.execute("CREATE EXTENSION pg_stat_statements")
    finally:
        await conn.close()
    return await server.platform_databases()


def server_cpu(server: PgServer) -> dict[int, float]:
    """CPU seconds of each of the server's processes (its backends come and go)."""
    found = {}
    for pid in server.pids():
        with suppress(OSError):  # ended meanwhile
            found[pid] = cpu_seconds([pid])
    return found


class PgRows:
    def __init__(self, server: PgServer, env: dict[str, str]) -> None:
        self._server = server
        self._env = env
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True)
        self._thread.start()
        self._conns: dict[str, asyncpg.Connection] = {}

    def _run(self, work: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(work, self._loop).result(timeout=30)

    async def _conn(self, key: str, url: str) -> asyncpg.Connection:
        if key not in self._conns:
            self._conns[key] = await asyncpg.connect(url, user=BENCH_ROLE)
        return self._conns[key]

    async def _count(self, process: str, table: str) -> int:
        conn = await self._conn(process, self._env[store_url_key(process)])
        exists = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", table)
        return int(await conn.fetchval(f"SELECT count(*) FROM {table}")) if exists else 0  # noqa: S608 - ours

    def count(self, process: str, table: str) -> int:
        return self._run(self._count(process, table))

    async def _stats(self) -> tuple[Counter[str], Counter[str]]:
        conn = await self._conn("", self._server.url())
        rows = await conn.fetch(
            "SELECT d.datname, sum(s.calls), coalesce(sum(s.calls) FILTER"
            " (WHERE s.query = 'COMMIT'), 0) FROM pg_stat_statements s"
            " JOIN pg_database d ON d.oid = s.dbid JOIN pg_roles r ON r.oid = s.userid"
            " WHERE r.rolname <> $1 GROUP BY d.datname",
            BENCH_ROLE,
        )
        statements: Counter[str] = Counter()
        transactions: Counter[str] = Counter()
        for name, calls, commits in rows:
            statements[self._process_of(name)] += int(calls)
            transactions[self._process_of(name)] += int(commits)
        return statements, transactions

    def _process_of(self, database: str) -> str:
        for key, url in self._env.items():
            if url.endswith(f"/{database}"):
                return key.removeprefix("HULEI_").removesuffix("_STORE_URL").lower()
        return "other"

    def stats(self) -> tuple[Counter[str], Counter[str]]:
        """Statements and transactions (BEGIN … COMMIT) the platform ran so far, by process."""
        return self._run(self._stats())

    def close(self) -> None:
        async def close_all() -> None:
            for conn in self._conns.values():
                await conn.close()

        self._run(close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
