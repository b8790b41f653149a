"""Use cases run on a real SQLite file without a Runtime, so without a bus: the store port, a
unit of work over one of its transactions, and `StoreUnits` for use cases that run their own."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TypeVar

from shared.events import Envelope
from shared.runtime import UnitOfWork, Work
from shared.store import Cursor, Doc, Store, Where, Writer, open_store
from shared.store.migrations import Migration, migrate
from shared.store.retry import transact
from shared.store.sqlite import SqliteStore
from shared.timers import Timer

R = TypeVar("R")


async def sqlite_port(tmp_path: Path, *, component: str, migrations: list[Migration]) -> Store:
    """A fresh SQLite store with the service's migrations applied, as the service opens it."""
    port = await open_store(f"sqlite:///{tmp_path / f'{component}.db'}")
    await migrate(port, component=component, migrations=migrations)
    return port


def sqlite_work(port: Store) -> list[int]:
    """SQLite's work in the store's writer (every transaction's statements) from now on, in
    steps of its virtual machine, kept in the list's one item: it grows with every row a
    statement reads, so a test can say a change's work does not grow with the data."""
    assert isinstance(port, SqliteStore)
    conn = port._writer._conn
    assert conn is not None
    steps = [0]

    def step() -> int:
        steps[0] += 1
        return 0  # go on

    conn.set_progress_handler(step, 10)
    return steps


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


class Recording:
    """A transaction that notes each read and write it passes on, as (operation, collection,
    id), and keeps the documents: for tests of what a unit of work touches, and how often."""

    def __init__(self, tx: Writer) -> None:
        self.tx = tx
        self.ops: list[tuple[str, str, str]] = []
        self.docs: list[Doc] = []  # every document read or written, in order

    def carried(self, text: str) -> int:
        """How many times `text` passed through in a document, read or written."""
        return sum(json.dumps(doc).count(text) for doc in self.docs)

    def touched(self) -> list[tuple[str, str]]:
        """(operation, collection), in order."""
        return [(op, collection) for op, collection, _ in self.ops]

    @property
    def writes(self) -> Counter[tuple[str, str]]:
        """How often each (collection, id) was inserted or put."""
        return Counter((c, i) for op, c, i in self.ops if op in ("insert", "put"))

    async def get(self, collection: str, id: str) -> Doc | None:
        self.ops.append(("get", collection, id))
        doc = await self.tx.get(collection, id)
        self.docs += [doc] if doc else []
        return doc

    async def find(
        self,
        collection: str,
        *,
        where: Where | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
        after: Cursor | None = None,
    ) -> list[Doc]:
        self.ops.append(("find", collection, ""))
        docs = await self.tx.find(
            collection,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
            after=after,
        )
        self.docs += docs
        return docs

    async def count(self, collection: str, *, where: Where | None = None) -> int:
        self.ops.append(("count", collection, ""))
        return await self.tx.count(collection, where=where)

    async def insert(self, collection: str, doc: Doc) -> None:
        self.ops.append(("insert", collection, doc["id"]))
        self.docs.append(doc)
        await self.tx.insert(collection, doc)

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        self.ops += [("insert", collection, doc["id"]) for doc in docs]
        self.docs += docs
        await self.tx.insert_many(collection, docs, texts=texts)

    async def put(self, collection: str, doc: Doc) -> None:
        self.ops.append(("put", collection, doc["id"]))
        self.docs.append(doc)
        await self.tx.put(collection, doc)

    async def delete(self, collection: str, id: str) -> None:
        self.ops.append(("delete", collection, id))
        await self.tx.delete(collection, id)
