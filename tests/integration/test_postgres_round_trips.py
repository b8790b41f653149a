"""On PostgreSQL every statement is a round trip the process waits for, inside the transaction
that holds its writer (shared/store/postgres.py): what the adapter sends besides the work
itself, on a real server."""

from __future__ import annotations

import asyncpg
import pytest

from shared.store import open_store
from tests.pgserver import PgServer


async def _last_statements(url: str) -> list[str]:
    """What each other session of the database ran last (its idle connections' too)."""
    conn = await asyncpg.connect(url)
    try:
        rows = await conn.fetch(
            "SELECT query FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await conn.close()
    return [row[0] for row in rows]


async def test_a_connection_goes_back_to_the_pool_without_a_reset(pg_server: PgServer) -> None:
    """asyncpg's default reset (`RESET ALL`, `CLOSE ALL`, `UNLISTEN *`, an advisory unlock)
    is a round trip on every release: for state the adapter never sets."""
    url = await pg_server.create_database("pool")
    store = await open_store(url)
    try:
        await store.put("things", {"id": "a", "n": 1})
        for _ in range(3):
            assert await store.get("things", "a") == {"id": "a", "n": 1}
        async with store.transaction() as tx:
            await tx.put("things", {"id": "b", "n": 2})
        last = await _last_statements(url)
        assert last, "the store's pooled connections are open"
        assert not [q for q in last if "RESET ALL" in q or "pg_advisory_unlock_all" in q]
    finally:
        await store.close()


async def test_a_transaction_left_open_is_still_rolled_back_before_reuse(
    pg_server: PgServer,
) -> None:
    """Without the reset, the pool still rolls back what a failed transaction left, so the
    next use of its connection starts clean."""
    url = await pg_server.create_database("pool")
    store = await open_store(url)
    try:

        async def failing() -> None:
            async with store.transaction() as tx:
                await tx.put("things", {"id": "lost"})
                raise RuntimeError("the work failed")

        with pytest.raises(RuntimeError):
            await failing()
        for _ in range(3):  # whichever pooled connection serves these
            assert await store.get("things", "lost") is None
            async with store.transaction() as tx:
                await tx.put("things", {"id": "kept"})
        assert [d["id"] for d in await store.find("things")] == ["kept"]
    finally:
        await store.close()
