"""The SQLite adapter runs statements inline on the event loop (shared/store/sqlite_handle.py):
what may block still leaves the loop free, and a cancelled transaction never leaves the
connection inside a transaction, wherever the cancellation lands."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable
from pathlib import Path
from typing import TypeVar

import pytest

from shared.store import Store, open_store
from shared.store.sqlite import SqliteStore
from shared.store.sqlite_handle import BUDGET_S, Handle

T = TypeVar("T")
ROWS = 100_000  # a filtered count over these takes tens of ms: far past the inline budget


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    s = await open_store(f"sqlite:///{tmp_path / 'inline.db'}")
    yield s
    await s.close()


def fill(path: Path) -> None:
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE bulk (id TEXT PRIMARY KEY, doc TEXT NOT NULL)")
        conn.executemany(
            "INSERT INTO bulk (id, doc) VALUES (?, ?)",
            ((f"b-{n}", json.dumps({"id": f"b-{n}", "n": n % 100})) for n in range(ROWS)),
        )


async def with_ticks(work: Awaitable[T]) -> tuple[T, int]:
    """The work's result, and how often the event loop ran another task meanwhile."""
    ticks = 0
    done = False

    async def ticker() -> None:
        nonlocal ticks
        while not done:
            await asyncio.sleep(0)
            ticks += 1

    tick = asyncio.create_task(ticker())
    await asyncio.sleep(0)
    ticks = 0
    try:
        result = await work
    finally:
        done = True
        await tick
    return result, ticks


async def test_a_long_read_runs_off_the_event_loop_and_answers_in_full(
    store: Store, tmp_path: Path
) -> None:
    fill(tmp_path / "inline.db")
    n, ticks = await with_ticks(store.count("bulk", where={"n": 7}))
    assert n == ROWS // 100
    assert ticks > 0  # inline, the loop would have run nothing until the count ended
    docs, ticks = await with_ticks(store.find("bulk", where={"n": 7}))
    assert len(docs) == ROWS // 100
    assert ticks > 0


async def test_a_long_read_inside_a_transaction_sees_and_keeps_its_writes(
    store: Store, tmp_path: Path
) -> None:
    fill(tmp_path / "inline.db")
    async with store.transaction() as tx:
        await tx.insert("bulk", {"id": "mine", "n": 7})
        n, ticks = await with_ticks(tx.count("bulk", where={"n": 7}))
        assert n == ROWS // 100 + 1
        assert ticks > 0
        await tx.insert("bulk", {"id": "mine-too", "n": 7})
    assert await store.count("bulk", where={"n": 7}) == ROWS // 100 + 2


async def test_a_transaction_cancelled_mid_body_leaves_nothing_and_the_store_usable(
    store: Store,
) -> None:
    inside = asyncio.Event()

    async def stuck() -> None:
        async with store.transaction() as tx:
            await tx.insert("docs", {"id": "half"})
            inside.set()
            await asyncio.Event().wait()

    task = asyncio.create_task(stuck())
    await inside.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert await store.get("docs", "half") is None
    await store.insert("docs", {"id": "after"})
    assert await store.get("docs", "after") == {"id": "after"}


def on_a_slow_disk(store: Store) -> SqliteStore:
    """Commits that wrote go to the thread, as on a disk whose fsyncs are slow."""
    assert isinstance(store, SqliteStore)
    store._writer.pace.threaded = True
    store._writer.pace.probe_every = 10**9
    return store


def commits_seen(store: SqliteStore) -> list[int]:
    """The thread each COMMIT of the store's writer runs on, from now on."""
    threads: list[int] = []
    conn = store._writer._conn
    assert conn is not None
    conn.set_trace_callback(
        lambda sql: threads.append(threading.get_ident()) if sql == "COMMIT" else None
    )
    return threads


async def test_a_commit_that_wrote_runs_on_the_loop_where_the_disk_is_fast(store: Store) -> None:
    assert isinstance(store, SqliteStore)
    threads = commits_seen(store)
    # More than a streak's worth: a disk that commits in under 10 ms keeps every one inline.
    commits = store._writer.pace.streak + 4
    for n in range(commits):
        async with store.transaction() as tx:
            await tx.insert("docs", {"id": f"d-{n}"})
    assert threads == [threading.get_ident()] * commits
    assert not store._writer.pace.threaded
    assert await store.get("docs", "d-0") == {"id": "d-0"}


async def test_on_a_slow_disk_a_commit_runs_on_the_thread_and_the_loop_goes_on_meanwhile(
    store: Store,
) -> None:
    threads = commits_seen(on_a_slow_disk(store))

    async def write() -> None:
        async with store.transaction() as tx:
            await tx.insert("docs", {"id": "a"})

    _, ticks = await with_ticks(write())
    assert len(threads) == 1
    assert threads[0] != threading.get_ident()
    assert ticks > 0  # inline, the loop would have run nothing until the commit ended
    assert await store.get("docs", "a") == {"id": "a"}


async def test_a_transaction_cancelled_while_committing_lands_whole_and_frees_the_connection(
    store: Store,
) -> None:
    on_a_slow_disk(store)  # inline, a commit has no await a cancellation could land on

    async def cancelled_at_commit() -> None:
        async with store.transaction() as tx:
            await tx.insert("docs", {"id": "a"})
            await tx.insert("docs", {"id": "b"})
            task = asyncio.current_task()
            assert task is not None
            # Runs once the commit has gone to the thread and the task waits for it.
            asyncio.get_running_loop().call_soon(task.cancel)

    with pytest.raises(asyncio.CancelledError):
        await asyncio.create_task(cancelled_at_commit())
    landed = [await store.get("docs", i) for i in ("a", "b")]
    assert landed in ([{"id": "a"}, {"id": "b"}], [None, None])
    await store.insert("docs", {"id": "after"})
    assert await store.get("docs", "after") == {"id": "after"}


async def test_a_transaction_cancelled_waiting_for_another_handles_lock_leaves_none_open(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    a, b = await open_store(url), await open_store(url)
    assert isinstance(b, SqliteStore)
    try:
        holding, release = asyncio.Event(), asyncio.Event()

        async def hold() -> None:
            async with a.transaction() as tx:
                await tx.put("docs", {"id": "a"})
                holding.set()
                await release.wait()

        async def wait_for_the_lock() -> None:
            async with b.transaction() as tx:
                await tx.put("docs", {"id": "never"})

        holder = asyncio.create_task(hold())
        await holding.wait()
        waiter = asyncio.create_task(wait_for_the_lock())
        # b's BEGIN found the file locked and went to its thread to wait there.
        for _ in range(100):
            if b._lock.locked():
                break
            await asyncio.sleep(0)
        assert b._lock.locked()
        waiter.cancel()
        release.set()
        await holder
        with pytest.raises(asyncio.CancelledError):
            await waiter
        # Before, b's BEGIN landed after the cancellation and b stayed inside it for good.
        await b.put("docs", {"id": "after"})
        assert await a.get("docs", "after") == {"id": "after"}
        assert await a.get("docs", "never") is None
    finally:
        await a.close()
        await b.close()


async def test_a_read_that_waited_for_the_cpu_is_not_run_again_on_the_thread(
    tmp_path: Path,
) -> None:
    """On a busy machine the OS runs other processes in the middle of a short read: that is
    not the read's work, and interrupting it to run it again on the thread doubled it (a list
    page's p99). Only a read's own CPU time counts towards its budget."""
    path = tmp_path / "inline.db"
    fill(path)
    handle = Handle(str(path), readonly=True)
    await handle.open()
    try:

        def page(conn: sqlite3.Connection) -> list[object]:
            # Stands in for the OS giving the CPU to another process for a while (no CPU
            # used here), past the budget in wall time, before the page's few thousand steps.
            time.sleep(3 * BUDGET_S)
            return conn.execute("SELECT doc FROM bulk ORDER BY id LIMIT 500").fetchall()

        assert len(handle.now(page, budget=BUDGET_S)) == 500  # inline: no _Spill raised
    finally:
        await handle.close()
