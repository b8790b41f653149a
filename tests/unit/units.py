"""Use cases run on a real SQLite file without a Runtime, so without a bus: the store port, a
unit of work over one of its transactions, and `StoreUnits` for use cases that run their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from shared.events import Envelope
from shared.runtime import UnitOfWork, Work
from shared.store import Store, Writer, open_store
from shared.store.migrations import Migration, migrate
from shared.store.retry import transact
from shared.timers import Timer

R = TypeVar("R")


async def sqlite_port(tmp_path: Path, *, component: str, migrations: list[Migration]) -> Store:
    """A fresh SQLite store with the service's migrations applied, as the service opens it."""
    port = await open_store(f"sqlite:///{tmp_path / f'{component}.db'}")
    await migrate(port, component=component, migrations=migrations)
    return port


@asynccontextmanager
async def unit_of_work(port: Store) -> AsyncIterator[UnitOfWork]:
    """One transaction, committed when the block ends; its `events` are what it announced."""
    async with port.transaction() as tx:
        uow = UnitOfWork(tx)
        yield uow
        await uow.flush()


class StoreUnits:
    """What a request's use case takes of the Runtime (`store`, `transact`), over a real store.
    Where the Runtime writes each committed unit's events to its outbox, this keeps them in
    `events` for the test to read."""

    def __init__(self, port: Store) -> None:
        self.store = port
        self.events: list[Envelope] = []
        self.timers: list[Timer] = []

    async def transact(self, work: Work[R]) -> R:
        committed: list[UnitOfWork] = []

        async def attempt(tx: Writer) -> R:
            uow = UnitOfWork(tx)
            result = await work(uow)
            await uow.flush()
            committed[:] = [uow]
            return result

        result = await transact(self.store, attempt)
        self.events.extend(committed[0].events)
        self.timers.extend(committed[0].timers)
        return result
