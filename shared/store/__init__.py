"""The store port: a small document store every service uses, with SQLite and MongoDB adapters.

Documents are JSON objects with a string `id`. Uniqueness is always by `id`, so services make
ids deterministic where they need a unique key (idempotency keys, processed-event markers).
Filters are equality on top-level fields; a list value means "one of".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any, Protocol

Doc = dict[str, Any]
Where = Mapping[str, Any]


class DuplicateKeyError(Exception):
    """Inserting a document whose id already exists in that collection."""


class StoreUnavailableError(Exception):
    """The store cannot be reached or written now; the caller may retry later."""


class Reader(Protocol):
    async def get(self, collection: str, id: str) -> Doc | None: ...

    async def find(
        self,
        collection: str,
        *,
        where: Where | None = None,
        order_by: str | None = None,
        descending: bool = False,
        limit: int | None = None,
    ) -> list[Doc]: ...


class Writer(Reader, Protocol):
    async def insert(self, collection: str, doc: Doc) -> None: ...

    async def put(self, collection: str, doc: Doc) -> None:
        """Insert or replace by id."""
        ...

    async def delete(self, collection: str, id: str) -> None: ...


class Store(Writer, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Writer]:
        """All writes inside commit together or not at all."""
        ...

    async def ensure_index(self, collection: str, fields: Sequence[str]) -> None: ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def open_store(url: str) -> Store:
    """Build the adapter the URL names: `sqlite:///path/file.db` or `mongodb://host/db`."""
    if url.startswith("sqlite:///"):
        from shared.store.sqlite import SqliteStore

        return await SqliteStore.open(path=url.removeprefix("sqlite:///"))
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from shared.store.mongo import MongoStore

        return await MongoStore.open(url=url)
    raise ValueError(f"unsupported store url scheme: {url.split(':', 1)[0]}")
