"""Two processes on one store (two handles, as two replicas): racing transactions all land,
and migrations run once however many replicas start together. SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from shared.store import Store, Writer, open_store
from shared.store.migrations import COLLECTION, Migration, migrate
from shared.store.retry import transact
from tests.support import StoreUrl, eventually, every_store

__all__ = ["every_store"]


@pytest.fixture
async def replicas(store_url: StoreUrl) -> AsyncIterator[tuple[Store, Store]]:
    url = await store_url("shared")
    a, b = await open_store(url), await open_store(url)
    yield a, b
    await a.close()
    await b.close()


async def test_read_modify_write_from_two_replicas_loses_no_update(
    replicas: tuple[Store, Store],
) -> None:
    a, b = replicas
    await a.put("counters", {"id": "c", "n": 0})

    async def increment(tx: Writer) -> None:
        doc = await tx.get("counters", "c")
        assert doc is not None
        await tx.put("counters", {"id": "c", "n": doc["n"] + 1})

    await asyncio.gather(*(transact(s, increment) for _ in range(15) for s in (a, b)))
    assert await a.get("counters", "c") == {"id": "c", "n": 30}


async def test_a_migration_runs_once_and_is_recorded(replicas: tuple[Store, Store]) -> None:
    a, _ = replicas
    runs: list[int] = []

    async def step(store: Store) -> None:
        runs.append(1)
        await store.ensure_index("things", ["kind"])

    plan = [Migration(1, "things by kind", step)]
    assert await migrate(a, component="svc", migrations=plan) == [1]
    assert await migrate(a, component="svc", migrations=plan) == []
    assert len(runs) == 1
    record = await a.get(COLLECTION, "svc:1")
    assert record is not None
    assert record["status"] == "applied"
    assert record["description"] == "things by kind"


class HeldStep:
    """Migration 1, whose step (in whichever replica runs it) notes the replica and waits
    until `release` is set."""

    def __init__(self) -> None:
        self.started, self.release = asyncio.Event(), asyncio.Event()
        self.runs: list[str] = []

    def plan(self, name: str) -> list[Migration]:
        async def step(_store: Store) -> None:
            self.runs.append(name)
            self.started.set()
            await self.release.wait()

        return [Migration(1, "held step", step)]


async def test_a_failed_step_is_tried_again_at_the_next_start(
    replicas: tuple[Store, Store],
) -> None:
    a, _ = replicas

    async def broken(_store: Store) -> None:
        raise RuntimeError("disk full")

    async def fixed(_store: Store) -> None:
        return None

    with pytest.raises(RuntimeError, match="disk full"):
        await migrate(a, component="svc", migrations=[Migration(1, "x", broken)])
    assert await a.get(COLLECTION, "svc:1") is None
    assert await migrate(a, component="svc", migrations=[Migration(1, "x", fixed)]) == [1]


async def test_a_step_left_running_by_a_dead_process_is_taken_over(
    replicas: tuple[Store, Store],
) -> None:
    a, _ = replicas
    await a.insert(
        COLLECTION,
        {"id": "svc:1", "status": "running", "owner": "dead", "claimed_at": time.time() - 3600},
    )

    async def step(_store: Store) -> None:
        return None

    plan = [Migration(1, "x", step)]
    assert await migrate(a, component="svc", migrations=plan, stale_after_s=60) == [1]


async def test_versions_out_of_order_are_refused(replicas: tuple[Store, Store]) -> None:
    async def step(_store: Store) -> None:
        return None

    backwards = [Migration(2, "b", step), Migration(1, "a", step)]
    with pytest.raises(ValueError, match="increasing"):
        await migrate(replicas[0], component="svc", migrations=backwards)


async def test_replicas_starting_together_run_a_step_once_however_long_it_takes(
    replicas: tuple[Store, Store],
) -> None:
    """The second replica waits for the first's step instead of skipping or running it; the
    running replica renews its claim, so a long step is not taken over, however short the
    lease. (Waited for by a condition, the claim renewed past the lease, not by a sleep.)"""
    a, b = replicas
    lease_s = 0.3
    held = HeldStep()
    first = asyncio.create_task(
        migrate(a, component="svc", migrations=held.plan("a"), stale_after_s=lease_s)
    )
    async with asyncio.timeout(10):
        await held.started.wait()
    claimed = (await a.get(COLLECTION, "svc:1") or {})["claimed_at"]
    second = asyncio.create_task(
        migrate(b, component="svc", migrations=held.plan("b"), stale_after_s=lease_s)
    )

    async def renewed_past_the_lease() -> bool:
        record = await a.get(COLLECTION, "svc:1") or {}
        return bool(float(record["claimed_at"]) > claimed + lease_s)

    await eventually(renewed_past_the_lease, within=10)  # the step has outlived its lease
    assert not second.done(), "the second replica must wait for the live owner's step"
    held.release.set()
    assert await first == [1]
    assert await second == []
    assert held.runs == ["a"]


async def test_a_dead_processs_step_is_taken_over_within_seconds(
    replicas: tuple[Store, Store],
) -> None:
    """Killed mid-step, a process stops renewing: the next start, 20 s later, runs the step
    (the lease has run out), not minutes later."""
    a, _ = replicas
    left = time.time() - 20
    await a.insert(
        COLLECTION, {"id": "svc:1", "status": "running", "owner": "dead", "claimed_at": left}
    )

    async def step(_store: Store) -> None:
        return None

    assert await migrate(a, component="svc", migrations=[Migration(1, "x", step)]) == [1]
