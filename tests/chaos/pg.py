"""Scenario 8's store: every process (the four services and the gateway) on one real
PostgreSQL server, a database each, and the ledger that reconciles from those databases."""

from __future__ import annotations

import asyncio
from collections import Counter, defaultdict
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

import asyncpg

from deploy.launcher import SERVICES
from tests.chaos.harness import Ledger
from tests.pgserver import PgServer, find_bin_dir, store_url_key

TASKS_SQL = (
    "SELECT id, doc->>'report_id', doc->>'assignee_user_id', doc->>'assignee_org_id' FROM tasks"
)
# Task notices only, as harness.py's INBOX_SQL: alerts carry no task.
INBOX_SQL = (
    "SELECT doc->>'task_id', doc->>'recipient', doc->>'kind' FROM inbox"
    " WHERE doc->>'task_id' IS NOT NULL"
)
LINKED_SQL = "SELECT id FROM reports WHERE doc->'case_id' IS NOT NULL AND doc->'case_id' <> 'null'"


@contextmanager
def postgres_for(store: str) -> Iterator[tuple[PgServer | None, dict[str, str]]]:
    """For a PostgreSQL scenario: a started server and the environment that points every
    process at its own database on it (HULEI_<PROCESS>_STORE_URL, as an operator would)."""
    if store != "postgres":
        yield None, {}
        return
    bin_dir = find_bin_dir()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL binaries (initdb, pg_ctl) not found")
    server = PgServer(bin_dir, durable=True)  # it is crashed: commits must survive that
    server.start()
    try:
        yield server, asyncio.run(server.platform_databases())
    finally:
        server.stop(mode="immediate")
        server.remove()


class PgLedger(Ledger):
    """The Ledger's reconciliation, read from the services' PostgreSQL databases. Rows are
    re-read whole each poll: identity values are not commit order, so no incremental read."""

    def __init__(self, env: dict[str, str]) -> None:
        super().__init__(var_dir=None)  # type: ignore[arg-type]
        self._urls = {s: env[store_url_key(s)] for s in SERVICES}
        self._pg: dict[str, asyncpg.Connection] = {}

    async def _fetch(self, service: str, sql: str) -> list[Any] | None:
        try:
            if service not in self._pg or self._pg[service].is_closed():
                self._pg[service] = await asyncpg.connect(self._urls[service], timeout=2)
            return list(await self._pg[service].fetch(sql, timeout=5))
        except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError):
            self._pg.pop(service, None)
            return None  # no such table yet, or the server is down: next poll

    async def refresh(self) -> None:
        async with self._lock:
            tasks = await self._fetch("case_tracking", TASKS_SQL)
            inbox = await self._fetch("notifications", INBOX_SQL)
            linked = await self._fetch("school_liaison", LINKED_SQL)
        if tasks is not None:
            self.tasks = defaultdict(dict)
            for task, report, user, org in tasks:
                self.tasks[report][task] = f"user:{user}" if user else f"org:{org}"
        if inbox is not None:
            self.notices = Counter(tuple(row) for row in inbox)
        if linked is not None:
            self.linked = {row[0] for row in linked}

    async def close(self) -> None:
        for conn in self._pg.values():
            with suppress(Exception):
                await conn.close()
