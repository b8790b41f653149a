"""Group commit (shared/commits.py): units of work that come together share one transaction, on a
real store, each with its own outcome, as if each had run alone one after another. On every
store whose transactions wait (PostgreSQL; SQLite whose commits go to its thread, as on a disk
with slow fsyncs); inline SQLite commits each alone."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from shared import commits
from shared.commits import CommitGroups
from shared.runtime import Runtime, UnitOfWork
from shared.store import DuplicateKeyError, StoreUnavailableError, Writer, open_store
from shared.store.retry import transact
from shared.store.sqlite import SqliteStore
from tests.integration.conftest import RuntimeFactory
from tests.support import StoreUrl, every_store

__all__ = ["every_store"]

CALLER: contextvars.ContextVar[str] = contextvars.ContextVar("caller", default="none")


@pytest.fixture
def runtime(runtime: Runtime) -> Runtime:
    """The runtime, its SQLite store committing on the thread (a disk with slow fsyncs)."""
    if isinstance(runtime.store, SqliteStore):
        runtime.store._writer.pace.threaded = True
        runtime.store._writer.pace.probe_every = 10**9  # no inline probe within the test
    assert runtime.store.transactions_wait
    return runtime


def inserting(n: int, seen: list[UnitOfWork]) -> Callable[[UnitOfWork], Awaitable[int]]:
    async def work(uow: UnitOfWork) -> int:
        seen.append(uow)
        await uow.tx.insert("things", {"id": f"t{n}", "n": n})
        return n

    return work


def counted(runtime: Runtime) -> tuple[float, float]:
    """The runtime's commits and the units of work they carried, as its /metrics says."""
    sample = runtime.metrics.registry.get_sample_value
    labels = {"service": runtime.metrics.service}
    return (
        sample("hulei_store_commits_total", labels) or 0.0,
        sample("hulei_units_of_work_committed_total", labels) or 0.0,
    )


async def test_units_of_work_that_come_together_share_one_transaction(runtime: Runtime) -> None:
    seen: list[UnitOfWork] = []
    before, units_before = counted(runtime)
    results = await asyncio.gather(*(runtime.transact(inserting(n, seen)) for n in range(10)))
    assert results == list(range(10))
    assert len({id(u) for u in seen}) == 1  # one unit of work, one commit
    assert await runtime.store.count("things") == 10
    assert counted(runtime) == (before + 1, units_before + 10)


async def test_a_group_holds_at_most_max_units(runtime: Runtime) -> None:
    seen: list[UnitOfWork] = []
    many = commits.MAX_UNITS + 10
    await asyncio.gather(*(runtime.transact(inserting(n, seen)) for n in range(many)))
    sizes = [sum(u is unit for u in seen) for unit in {id(u): u for u in seen}.values()]
    assert sizes == [commits.MAX_UNITS, 10]
    assert await runtime.store.count("things") == many


async def test_a_unit_of_work_that_raises_fails_alone(runtime: Runtime) -> None:
    seen: list[UnitOfWork] = []

    async def failing(uow: UnitOfWork) -> int:
        await uow.tx.insert("things", {"id": "t2", "n": 2})
        raise ValueError("no")

    works = [inserting(n, seen) if n != 2 else failing for n in range(6)]
    outcomes = await asyncio.gather(*(runtime.transact(w) for w in works), return_exceptions=True)
    assert outcomes[:2] == [0, 1]
    assert outcomes[3:] == [3, 4, 5]
    assert isinstance(outcomes[2], ValueError)
    stored = await runtime.store.find("things", limit=10)
    assert sorted(d["n"] for d in stored) == [0, 1, 3, 4, 5]


async def test_of_two_units_writing_one_key_the_later_gets_the_duplicate(runtime: Runtime) -> None:
    def claiming(who: str) -> Callable[[UnitOfWork], Awaitable[str]]:
        async def work(uow: UnitOfWork) -> str:
            await uow.tx.insert("claims", {"id": "only", "by": who})
            return who

        return work

    first, second = await asyncio.gather(
        runtime.transact(claiming("first")),
        runtime.transact(claiming("second")),
        return_exceptions=True,
    )
    assert first == "first"
    assert isinstance(second, DuplicateKeyError)
    assert await runtime.store.get("claims", "only") == {"id": "only", "by": "first"}


async def test_each_unit_runs_in_its_callers_context(runtime: Runtime) -> None:
    async def call_as(name: str) -> str:
        CALLER.set(name)

        async def work(uow: UnitOfWork) -> str:
            await uow.tx.insert("callers", {"id": name})
            return CALLER.get()

        return await runtime.transact(work)

    names = [f"caller-{n}" for n in range(5)]
    assert await asyncio.gather(*(call_as(n) for n in names)) == names


async def test_a_unit_of_work_cannot_start_a_transaction_of_its_own(runtime: Runtime) -> None:
    async def inner(uow: UnitOfWork) -> None:
        await uow.tx.insert("things", {"id": "inner"})

    async def outer(uow: UnitOfWork) -> None:
        await uow.tx.insert("things", {"id": "outer"})
        await runtime.transact(inner)

    with pytest.raises(RuntimeError, match="transaction of its own"):
        await runtime.transact(outer)
    assert await runtime.store.count("things") == 0
    # The runtime goes on.
    await runtime.transact(inner)
    assert await runtime.store.get("things", "inner") == {"id": "inner"}


async def test_a_caller_cancelled_before_its_turn_writes_nothing(runtime: Runtime) -> None:
    entered, release = asyncio.Event(), asyncio.Event()
    seen: list[UnitOfWork] = []

    async def holding(uow: UnitOfWork) -> None:
        await uow.tx.insert("things", {"id": "held"})
        entered.set()
        await release.wait()

    first = asyncio.create_task(runtime.transact(holding))
    await entered.wait()  # the first group runs: a later caller waits for the next
    later = asyncio.create_task(runtime.transact(inserting(1, seen)))
    await asyncio.sleep(0)  # the later caller is in line
    later.cancel()
    release.set()
    await first
    with pytest.raises(asyncio.CancelledError):
        await later
    assert seen == []
    assert await runtime.store.get("things", "t1") is None
    assert await runtime.store.get("things", "held") == {"id": "held"}
    assert await runtime.transact(inserting(2, seen)) == 2


async def test_a_failed_commit_is_tried_again_for_each_unit_alone(store_url: StoreUrl) -> None:
    store = await open_store(await store_url("groups"))
    commits: list[int] = []

    async def alone(work: Callable[[Writer], Awaitable[Any]]) -> Any:
        commits.append(1)
        if len(commits) == 1:  # the group's transaction: the store is away for a moment
            raise StoreUnavailableError("outage")
        return await transact(store, work)

    groups: CommitGroups[Writer] = CommitGroups(alone)

    def putting(n: int) -> Callable[[Writer], Awaitable[int]]:
        async def work(tx: Writer) -> int:
            await tx.put("things", {"id": f"t{n}", "n": n})
            return n

        return work

    try:
        results = await asyncio.gather(*(groups.transact(putting(n)) for n in range(4)))
        assert results == [0, 1, 2, 3]
        assert len(commits) == 5  # the group's, then one each
        assert await store.count("things") == 4
    finally:
        await store.close()


@pytest.mark.parametrize("store_backend", ["sqlite"])
async def test_inline_sqlite_commits_each_unit_alone(runtime_factory: RuntimeFactory) -> None:
    """Inline, a SQLite transaction is one step of the loop: nothing comes while it runs, and
    gathering same-turn arrivals measured no cheaper there (docs/performance.md, session 17)."""
    async with runtime_factory("svc") as rt:
        assert not rt.store.transactions_wait
        seen: list[UnitOfWork] = []
        before, units_before = counted(rt)
        await asyncio.gather(*(rt.transact(inserting(n, seen)) for n in range(5)))
        assert len({id(u) for u in seen}) == 5
        assert counted(rt) == (before + 5, units_before + 5)
