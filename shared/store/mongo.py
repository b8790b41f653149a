"""MongoDB adapter: a Mongo collection per store collection, the document's `id` kept as `_id`.

`transaction()` uses a multi-document transaction, which MongoDB only offers on a replica set
or sharded cluster; a single-node replica set (`mongod --replSet rs0`, then `rs.initiate()`)
is enough. On a standalone server everything but `transaction()` works.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import AbstractAsyncContextManager, asynccontextmanager, contextmanager, nullcontext
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from pymongo import ASCENDING, DESCENDING, AsyncMongoClient, UpdateOne
from pymongo import errors as mongo
from pymongo.asynchronous.client_session import AsyncClientSession
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.read_concern import ReadConcern
from pymongo.write_concern import WriteConcern
from tenacity import AsyncRetrying, retry_if_exception, stop_after_attempt

from shared.store import (
    NULL,
    ConflictError,
    Cursor,
    Doc,
    DuplicateKeyError,
    Range,
    StoreUnavailableError,
    Where,
    Writer,
    checked_name,
    checked_texts,
)

_SEQ = "_seq"  # hidden insertion order, standing in for SQLite's rowid
_DUPLICATE = 11000  # the server's duplicate-key error code
_DEFAULT_DB = "hulei"
_SELECTION_TIMEOUT_MS = 5000  # fail fast when the server is down; the URL may override it
_last_seq = 0


def _field(name: str) -> str:
    return "_id" if name == "id" else checked_name(name)


def _next_seq() -> int:
    # Wall-clock nanoseconds keep order across processes (up to clock skew); max() keeps it
    # strictly increasing within this one.
    global _last_seq
    _last_seq = max(time.time_ns(), _last_seq + 1)
    return _last_seq


def _filter(where: Where | None) -> dict[str, Any]:
    query: dict[str, Any] = {}
    for field, value in (where or {}).items():
        if isinstance(value, Range):
            query[_field(field)] = {"$" + name: bound for name, bound in _mongo_bounds(value)}
        elif isinstance(value, list | tuple | set | frozenset):
            query[_field(field)] = {"$in": list(value)}
        elif value is NULL:
            # $eq bounds an index to its null entries (missing ones too); $type drops those.
            query[_field(field)] = {"$eq": None, "$type": "null"}
        else:
            # $eq so a dict value is matched, never read as operators; None matches null or
            # missing, like SQLite's IS NULL on json_extract.
            query[_field(field)] = {"$eq": value}
    return query


def _mongo_bounds(value: Range) -> list[tuple[str, Any]]:
    names = {">": "gt", ">=": "gte", "<": "lt", "<=": "lte"}
    return [(names[op], bound) for op, bound in value.bounds()]


def _page(where: Where | None, order_by: str, after: Cursor, descending: bool) -> dict[str, Any]:
    """The filter plus "strictly past (value, id)" in the list's order."""
    past = "$lt" if descending else "$gt"
    key = _field(order_by)
    keyset = {"$or": [{key: {past: after.value}}, {key: after.value, "_id": {past: after.id}}]}
    return {"$and": [_filter(where), keyset]}


def _body(doc: Doc) -> Doc:
    return {k: v for k, v in doc.items() if k != "id"}


def _out(raw: Doc) -> Doc:
    return {"id": raw["_id"], **{k: v for k, v in raw.items() if k not in ("_id", _SEQ)}}


def _translate(exc: mongo.PyMongoError) -> Exception:
    if isinstance(exc, mongo.DuplicateKeyError):
        return DuplicateKeyError(str(exc))
    # The label marks a transaction that can be run again from the start: a write conflict
    # with a concurrent one (two replicas inserting the same processed marker), a primary
    # stepping down. retry.transact runs it again, where the caller then sees the other's
    # write (a DuplicateKeyError, or the marker already there).
    if exc.has_error_label("TransientTransactionError"):
        return ConflictError(f"mongodb: {exc}")
    # ConnectionFailure covers AutoReconnect, NetworkTimeout, NotPrimaryError and
    # ServerSelectionTimeoutError; a commit whose outcome stays unknown is an outage too.
    if isinstance(exc, mongo.ConnectionFailure) or exc.has_error_label(
        "UnknownTransactionCommitResult"
    ):
        return StoreUnavailableError(f"mongodb: {exc}")
    return exc


@contextmanager
def _mapped() -> Iterator[None]:
    try:
        yield
    except mongo.PyMongoError as exc:
        translated = _translate(exc)
        if translated is exc:
            raise
        raise translated from exc


_COMMIT_ATTEMPTS = 3


def _unknown_outcome(exc: BaseException) -> bool:
    return isinstance(exc, mongo.PyMongoError) and exc.has_error_label(
        "UnknownTransactionCommitResult"
    )


async def _commit(session: AsyncClientSession) -> None:
    """Commit, again while the outcome is unknown: the driver spec's advice, and safe (a
    commit that already happened is acknowledged again). Bounded; then it is an outage."""
    retrying = AsyncRetrying(
        retry=retry_if_exception(_unknown_outcome),
        stop=stop_after_attempt(_COMMIT_ATTEMPTS),
        reraise=True,  # at once, as the driver spec retries a commit
    )
    await retrying(session.commit_transaction)


class _Ops(Writer):
    """Reads and writes, optionally bound to a transaction's session."""

    def __init__(self, db: AsyncDatabase[Doc], session: AsyncClientSession | None = None) -> None:
        self._db = db
        self._session = session
        # A session must not run two operations at once; SQLite's single thread serialises too.
        self._guard: AbstractAsyncContextManager[Any] = asyncio.Lock() if session else nullcontext()

    @asynccontextmanager
    async def _op(self) -> AsyncIterator[None]:
        async with self._guard:
            with _mapped():
                yield

    async def get(self, collection: str, id: str) -> Doc | None:
        async with self._op():
            raw = await self._db[checked_name(collection)].find_one(
                {"_id": id}, session=self._session
            )
        return _out(raw) if raw is not None else None

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
        if limit == 0:  # Mongo reads limit 0 as "no limit"; SQLite's LIMIT 0 returns nothing
            return []
        way = DESCENDING if descending else ASCENDING
        sort = [(_field(order_by), way), ("_id", way)] if order_by else [(_SEQ, ASCENDING)]
        if after is not None:
            if not order_by:
                raise ValueError("a page cursor needs order_by")
            query = _page(where, order_by, after, descending)
        else:
            query = _filter(where)
        async with self._op():
            cursor = self._db[checked_name(collection)].find(
                query, sort=sort, limit=max(limit or 0, 0), session=self._session
            )
            return [_out(raw) async for raw in cursor]

    async def count(self, collection: str, *, where: Where | None = None) -> int:
        async with self._op():
            return await self._db[checked_name(collection)].count_documents(
                _filter(where), session=self._session
            )

    async def insert(self, collection: str, doc: Doc) -> None:
        # An upsert that only sets on insert, not insert_one: a server duplicate-key error
        # aborts the whole transaction, while callers expect to catch it and carry on.
        async with self._op():
            result = await self._db[checked_name(collection)].update_one(
                {"_id": doc["id"]},
                {"$setOnInsert": {**_body(doc), _SEQ: _next_seq()}},
                upsert=True,
                session=self._session,
            )
        if result.upserted_id is None:
            raise DuplicateKeyError(f"{collection}/{doc['id']}")

    async def insert_many(
        self,
        collection: str,
        docs: Sequence[Doc],
        *,
        texts: Sequence[str] | None = None,
    ) -> None:
        if texts is not None:
            checked_texts(docs, texts)  # refused as elsewhere; BSON is built from the documents
        if not docs:
            return
        # Upserts that only set on insert, as `insert`; one bulk call, in order.
        writes = [
            UpdateOne(
                {"_id": doc["id"]}, {"$setOnInsert": {**_body(doc), _SEQ: _next_seq()}}, upsert=True
            )
            for doc in docs
        ]
        target = self._db[checked_name(collection)]
        async with self._op():
            try:
                result = await target.bulk_write(writes, ordered=True, session=self._session)
                added = list((result.upserted_ids or {}).values())
            except mongo.BulkWriteError as exc:  # a unique secondary index
                if not any(e.get("code") == _DUPLICATE for e in exc.details["writeErrors"]):
                    raise
                added = [u["_id"] for u in exc.details.get("upserted", [])]
            if len(added) == len(docs):
                return
            # An id was there already (or twice among them): none of them, as documented.
            await target.delete_many({"_id": {"$in": added}}, session=self._session)
        raise DuplicateKeyError(f"{collection}: {len(docs) - len(added)} of {len(docs)}")

    async def put(self, collection: str, doc: Doc) -> None:
        # A pipeline replace keeps an existing document's _seq, as SQLite's upsert keeps rowid;
        # $literal stops "$"-prefixed strings in the document being read as expressions.
        keep_seq = {"$ifNull": ["$" + _SEQ, _next_seq()]}
        head = {"_id": {"$literal": doc["id"]}, _SEQ: keep_seq}
        stage = {"$replaceWith": {"$mergeObjects": [head, {"$literal": _body(doc)}]}}
        async with self._op():
            await self._db[checked_name(collection)].update_one(
                {"_id": doc["id"]}, [stage], upsert=True, session=self._session
            )

    async def delete(self, collection: str, id: str) -> None:
        async with self._op():
            await self._db[checked_name(collection)].delete_one({"_id": id}, session=self._session)


class MongoStore(_Ops):
    transactions_wait = True  # every operation a round trip

    def __init__(self, client: AsyncMongoClient[Doc], db: AsyncDatabase[Doc]) -> None:
        super().__init__(db)
        self._client = client

    @classmethod
    async def open(cls, *, url: str) -> MongoStore:
        given = {key.lower() for key, _ in parse_qsl(urlsplit(url).query)}
        options: dict[str, Any] = {}
        if "serverselectiontimeoutms" not in given:  # keyword options would beat the URL's
            options["serverSelectionTimeoutMS"] = _SELECTION_TIMEOUT_MS
        client: AsyncMongoClient[Doc] = AsyncMongoClient(url, **options)
        store = cls(client, client.get_default_database(_DEFAULT_DB))
        try:
            await store.ping()
        except BaseException:
            await client.close()
            raise
        return store

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        # Snapshot reads and majority commit: the closest match to SQLite's BEGIN IMMEDIATE
        # plus synchronous=FULL.
        async with self._client.start_session() as session:
            with _mapped():
                await session.start_transaction(
                    read_concern=ReadConcern("snapshot"), write_concern=WriteConcern("majority")
                )
            try:
                yield _Ops(self._db, session)
            except BaseException:
                if session.in_transaction:
                    await session.abort_transaction()  # never raises for server errors
                raise
            with _mapped():
                await _commit(session)

    async def ensure_index(
        self,
        collection: str,
        fields: Sequence[str],
        *,
        unique: bool = False,
        where: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        keys = [(_field(f), ASCENDING) for f in fields]
        options: dict[str, Any] = {"unique": unique}
        if not unique:
            keys.append(("_id", ASCENDING))  # ends like a keyset page's order: (field, id)
        if where:
            options["partialFilterExpression"] = {_field(k): v for k, v in where.items()}
        with _mapped():
            await self._db[checked_name(collection)].create_index(keys, **options)

    async def ping(self) -> None:
        with _mapped():
            await self._client.admin.command("ping")

    async def close(self) -> None:
        await self._client.close()
