"""The store port: a small document store every service uses; SQLite, PostgreSQL and MongoDB
adapters.

Documents are JSON objects with a string `id`, unique per collection; `ensure_index(...,
unique=True)` adds unique secondary keys (optionally partial: only documents matching `where`).
Filters are on top-level fields: a scalar means equal, a list "one of", None "missing or null",
`NULL` "present and null" (an index seeks on it on every adapter), a `Range` bounds. Lists
ordered by a field page by keyset: `after=` the `Cursor` of the last document seen (the order
field's value and the id, which breaks ties), never by offset.
"""

from __future__ import annotations

import base64
import binascii
import functools
import json
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Any, NamedTuple, Protocol

Doc = dict[str, Any]
Where = Mapping[str, Any]
_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


@functools.lru_cache(maxsize=1024)  # every statement asks; the names are the code's, few
def checked_name(name: str) -> str:
    """A collection or field name, refused unless a plain identifier: adapters splice names
    into their queries (SQL, JSON paths), never values."""
    if not _NAME.match(name):
        raise ValueError(f"invalid collection or field name: {name!r}")
    return name


@dataclass(frozen=True)
class Range:
    """Bounds on one field; None leaves that side open."""

    gt: Any = None
    gte: Any = None
    lt: Any = None
    lte: Any = None

    def bounds(self) -> list[tuple[str, Any]]:
        """(operator, value) pairs that are set, operators as SQL spells them."""
        pairs = (("gt", ">"), ("gte", ">="), ("lt", "<"), ("lte", "<="))
        return [(op, getattr(self, name)) for name, op in pairs if getattr(self, name) is not None]


class _Null:
    """The type of `NULL`."""

    def __repr__(self) -> str:
        return "NULL"


# A filter value: the field is present and JSON null; a document lacking it does not match.
# None ("missing or null") is an OR on PostgreSQL, which its ordered index scans only filter.
NULL = _Null()


class Cursor(NamedTuple):
    """Where a page ended: the order field's value and the id of the last document."""

    value: Any
    id: str

    @classmethod
    def of(cls, doc: Doc, order_by: str) -> Cursor:
        return cls(doc[order_by], str(doc["id"]))

    def encode(self) -> str:
        """Opaque to API clients: they hand it back as `?after=`."""
        raw = json.dumps([self.value, self.id], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, token: str) -> Cursor:
        """Raises ValueError for anything that is not a cursor this module made."""
        try:
            raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
            value, id_ = json.loads(raw)
        except (binascii.Error, ValueError, TypeError) as exc:
            raise ValueError("not a valid page cursor") from exc
        if not isinstance(id_, str) or not isinstance(value, str | int | float):
            raise ValueError("not a valid page cursor")
        return cls(value, id_)


def checked_texts(docs: Sequence[Doc], texts: Sequence[str]) -> list[str]:
    """`insert_many`'s texts, one per document."""
    if len(texts) != len(docs):
        raise ValueError(f"{len(texts)} texts for {len(docs)} documents")
    return list(texts)


class DuplicateKeyError(Exception):
    """Inserting a document whose id already exists in that collection."""


class StoreUnavailableError(Exception):
    """The store cannot be reached or written now; the caller may retry later."""


class ConflictError(StoreUnavailableError):
    """The transaction lost a race with a concurrent one (serialization failure, deadlock,
    write conflict) and was rolled back; running it again from the start may succeed.
    `shared.store.retry.transact` does that; left unretried it is a 503 like any outage."""


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
        after: Cursor | None = None,
    ) -> list[Doc]:
        """`after` needs `order_by` (a field every matching document has, non-null)."""
        ...

    async def count(self, collection: str, *, where: Where | None = None) -> int: ...


class Writer(Reader, Protocol):
    async def insert(self, collection: str, doc: Doc) -> None: ...

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        """All or none, in order: an id already there, or twice among them, raises
        DuplicateKeyError and stores none of them (a transaction may catch it and carry on).
        One statement or batch, not one round of the store's machinery per document.
        `texts`: the same documents as JSON text, when the caller has encoded them already
        (the audit trail, for its MACs); SQL stores take them instead of encoding again."""
        ...

    async def put(self, collection: str, doc: Doc) -> None:
        """Insert or replace by id."""
        ...

    async def delete(self, collection: str, id: str) -> None: ...


class Store(Writer, Protocol):
    def transaction(self) -> AbstractAsyncContextManager[Writer]:
        """All writes inside commit together or not at all."""
        ...

    @property
    def transactions_wait(self) -> bool:
        """Whether a transaction waits for the store (round trips, a commit on a thread) and
        the event loop runs meanwhile: other units of work then come while one is open, and
        the runtime gathers them into one (shared/commits.py)."""
        ...

    async def ensure_index(
        self,
        collection: str,
        fields: Sequence[str],
        *,
        unique: bool = False,
        where: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        """`unique`: inserting or putting a second document with the same values raises
        DuplicateKeyError. `where` (equality only) makes the index partial: only documents
        matching it count, e.g. one *open* case per child."""
        ...

    async def ping(self) -> None: ...

    async def close(self) -> None: ...


async def open_store(url: str) -> Store:
    """Build the adapter the URL names: `sqlite:///path/file.db`, `postgresql://host/db` or
    `mongodb://host/db`."""
    if url.startswith("sqlite:///"):
        from shared.store.sqlite import SqliteStore

        return await SqliteStore.open(path=url.removeprefix("sqlite:///"))
    if url.startswith(("postgresql://", "postgres://")):
        from shared.store.postgres import PostgresStore

        return await PostgresStore.open(url=url)
    if url.startswith(("mongodb://", "mongodb+srv://")):
        from shared.store.mongo import MongoStore

        return await MongoStore.open(url=url)
    raise ValueError(f"unsupported store url scheme: {url.split(':', 1)[0]}")
