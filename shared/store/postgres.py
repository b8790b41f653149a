"""PostgreSQL adapter (asyncpg): a table per collection, `id text primary key, doc jsonb`.

Filters and orders compare jsonb to jsonb (`doc->'n' > '4'::jsonb`), so numbers order as
numbers and strings as strings, and expression indexes on `(doc->'field')` serve them. A
hidden identity column keeps insertion order, standing in for SQLite's rowid.

Transactions are SERIALIZABLE: like SQLite's BEGIN IMMEDIATE, every transaction behaves as if
it ran alone, so read-check-write code (processed markers, one open case per child, the audit
chain's head) keeps its meaning. Within a process they also queue on a lock, as SQLite's writer
does: code written for SQLite never sees a conflict with itself. Between processes (replicas)
a transaction that lost a race raises ConflictError, and `retry.transact` runs it again.
Tables are created on first write, in the writer's transaction (DDL is transactional here).
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from typing import Any

import asyncpg
from asyncpg import exceptions as pg

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
    codec,
)

_POOL_MAX = 10
_TIMEOUT_S = 10.0  # waiting for a pooled connection or a statement: then it is an outage
_UNAVAILABLE = (
    OSError,
    TimeoutError,
    pg.PostgresConnectionError,
    pg.OperatorInterventionError,  # admin shutdown, server starting up
    pg.InsufficientResourcesError,  # too many connections, disk full
    pg.InterfaceError,  # a connection closed under us
)


def _expr(field: str) -> str:
    return "id" if field == "id" else f"(doc->'{checked_name(field)}')"


def _arg(field: str, value: Any) -> Any:
    return str(value) if field == "id" else codec.encode(value)


class _Sql:
    """Collects clauses and numbered parameters."""

    def __init__(self) -> None:
        self.clauses: list[str] = []
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return f"${len(self.params)}"

    def where(self, where: Where | None) -> None:
        for field, value in (where or {}).items():
            expr = _expr(field)
            cast = "" if field == "id" else "::jsonb"
            if isinstance(value, Range):
                # Only strings lie between two strings: such a range needs no type guard.
                lower = [b for b in (value.gt, value.gte) if b is not None]
                upper = [b for b in (value.lt, value.lte) if b is not None]
                spans_strings = bool(lower and upper) and all(
                    isinstance(b, str) for b in lower + upper
                )
                for op, bound in value.bounds():
                    param = f"{self.bind(_arg(field, bound))}{cast}"
                    self.clauses.append(f"{expr} {op} {param}")
                    if not cast or spans_strings:
                        continue
                    # jsonb orders null below strings and booleans above numbers; a
                    # bound only matches values of its own type, as in SQLite and Mongo.
                    if isinstance(bound, str) and op in ("<", "<="):
                        # Only null lies below strings: a range the planner estimates from
                        # the index's statistics. It takes jsonb_typeof(...) = ... as 0.5 %
                        # of the rows, and then sorts a page's whole range at a city's size
                        # (an unread inbox's next page: 80-400 ms, not 1.5).
                        self.clauses.append(f"{expr} > 'null'::jsonb")
                    else:
                        self.clauses.append(f"jsonb_typeof({expr}) = jsonb_typeof({param})")
            elif isinstance(value, list | tuple | set | frozenset):
                values = [_arg(field, v) for v in value]
                arr = "text[]" if field == "id" else "jsonb[]"
                self.clauses.append(f"{expr} = ANY({self.bind(values)}::{arr})")
            elif value is None:
                # Missing or JSON null, like SQLite's json_extract(...) IS NULL.
                self.clauses.append(f"({expr} IS NULL OR {expr} = 'null'::jsonb)")
            elif value is NULL:
                self.clauses.append(f"{expr} = 'null'::jsonb")  # an index seeks on it
            else:
                self.clauses.append(f"{expr} = {self.bind(_arg(field, value))}{cast}")

    def sql(self) -> str:
        return " WHERE " + " AND ".join(self.clauses) if self.clauses else ""


def _select(
    table: str,
    where: Where | None,
    order_by: str | None,
    descending: bool,
    limit: int | None,
    after: Cursor | None,
) -> tuple[str, list[Any]]:
    q = _Sql()
    q.where(where)
    if after is not None:
        if not order_by:
            raise ValueError("a page cursor needs order_by")
        cast = "" if order_by == "id" else "::jsonb"
        value, id_ = q.bind(_arg(order_by, after.value)), q.bind(after.id)
        past = "<" if descending else ">"
        q.clauses.append(f"({_expr(order_by)}, id) {past} ({value}{cast}, {id_})")
    sql = f"SELECT doc FROM {table}{q.sql()}"
    if order_by:
        way = " DESC" if descending else ""
        sql += f" ORDER BY {_expr(order_by)}{way}, id{way}"
    else:
        sql += " ORDER BY seq"
    if limit is not None:
        sql += f" LIMIT {max(int(limit), 0)}"
    return sql, q.params


def _index_name(
    prefix: str, collection: str, fields: Sequence[str], where: Mapping[str, Any]
) -> str:
    name = f"{prefix}{collection}_{'_'.join(fields)}"
    name += "_when_" + "_".join(where) if where else ""
    if len(name) > 63:  # PostgreSQL would truncate it silently; keep names distinct instead
        name = name[:50] + "_" + hashlib.sha256(name.encode()).hexdigest()[:12]
    return name


@contextmanager
def _mapped(collection: str = "") -> Iterator[None]:
    try:
        yield
    except pg.UniqueViolationError as exc:
        raise DuplicateKeyError(f"{collection}: {exc}") from exc
    except pg.TransactionRollbackError as exc:  # serialization failure, deadlock
        raise ConflictError(f"postgresql: {exc}") from exc
    except _UNAVAILABLE as exc:
        raise StoreUnavailableError(f"postgresql: {exc!r}") from exc


async def _init(conn: asyncpg.Connection) -> None:
    await conn.set_type_codec("jsonb", encoder=str, decoder=codec.decode, schema="pg_catalog")


async def _keep(_conn: asyncpg.Connection) -> None:
    """A released connection's reset: none. asyncpg's default sends `RESET ALL`, `CLOSE ALL`,
    `UNLISTEN *` and an advisory unlock on every release, a round trip per transaction and per
    read outside one (about four a report), for session state this adapter never sets; an
    unfinished transaction is still rolled back by the pool before this is called."""


class _Ops(Writer):
    """Reads and writes: each on a pooled connection, or all on a transaction's connection."""

    def __init__(
        self, pool: asyncpg.Pool, tables: set[str], tx: asyncpg.Connection | None = None
    ) -> None:
        self._pool = pool
        self._tables = tables
        self._tx = tx
        self.created: set[str] = set()
        # One connection runs one statement at a time; SQLite's single thread serialises too.
        self._guard = asyncio.Lock()

    @asynccontextmanager
    async def _conn(self, collection: str = "") -> AsyncIterator[asyncpg.Connection]:
        with _mapped(collection):
            if self._tx is not None:
                async with self._guard:
                    yield self._tx
            else:
                async with self._pool.acquire(timeout=_TIMEOUT_S) as conn:
                    yield conn

    def _known(self, collection: str) -> None:
        # A table seen inside a transaction may be its own, gone again if it rolls back.
        (self.created if self._tx is not None else self._tables).add(collection)

    async def _exists(self, conn: asyncpg.Connection, collection: str) -> bool:
        if collection in self._tables or collection in self.created:
            return True
        found = await conn.fetchval("SELECT to_regclass($1) IS NOT NULL", checked_name(collection))
        if found:
            self._known(collection)
        return bool(found)

    async def _ensure_table(self, conn: asyncpg.Connection, collection: str) -> None:
        if await self._exists(conn, collection):
            return
        name = checked_name(collection)
        sql = (
            f"CREATE TABLE IF NOT EXISTS {name} (id text PRIMARY KEY, "
            "seq bigint GENERATED ALWAYS AS IDENTITY, doc jsonb NOT NULL)"
        )
        try:
            await conn.execute(sql)
        except (pg.UniqueViolationError, pg.DuplicateTableError) as exc:
            # Another session created it at the same moment; in a transaction that aborted
            # ours, so it is a conflict to retry, outside one the table is simply there.
            if self._tx is not None:
                raise ConflictError(f"postgresql: table {name} created concurrently") from exc
        self._known(collection)

    async def get(self, collection: str, id: str) -> Doc | None:
        async with self._conn(collection) as conn:
            if not await self._exists(conn, collection):
                return None
            doc = await conn.fetchval(
                f"SELECT doc FROM {checked_name(collection)} WHERE id = $1", id
            )
        return dict(doc) if doc is not None else None

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
        sql, params = _select(checked_name(collection), where, order_by, descending, limit, after)
        async with self._conn(collection) as conn:
            if not await self._exists(conn, collection):
                return []
            rows = await conn.fetch(sql, *params)
        return [row[0] for row in rows]

    async def count(self, collection: str, *, where: Where | None = None) -> int:
        q = _Sql()
        q.where(where)
        async with self._conn(collection) as conn:
            if not await self._exists(conn, collection):
                return 0
            sql = f"SELECT count(*) FROM {checked_name(collection)}{q.sql()}"
            n = await conn.fetchval(sql, *q.params)
        return int(n)

    async def insert(self, collection: str, doc: Doc) -> None:
        # DO NOTHING (on any unique index), not an error: an error would abort the whole
        # transaction, while callers catch DuplicateKeyError and carry on in it.
        sql = (
            f"INSERT INTO {checked_name(collection)} (id, doc) VALUES ($1, $2::jsonb) "
            "ON CONFLICT DO NOTHING RETURNING id"
        )
        async with self._conn(collection) as conn:
            await self._ensure_table(conn, collection)
            inserted = await conn.fetchval(sql, str(doc["id"]), codec.encode(doc))
        if inserted is None:
            raise DuplicateKeyError(f"{collection}/{doc['id']}")

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        if not docs:
            return
        # One statement, all or none: no ON CONFLICT here, a duplicate fails all of it.
        sql = (
            f"INSERT INTO {checked_name(collection)} (id, doc) "
            "SELECT * FROM unnest($1::text[], $2::jsonb[])"
        )
        ids = [str(doc["id"]) for doc in docs]
        bodies = (
            [codec.encode(doc) for doc in docs] if texts is None else checked_texts(docs, texts)
        )
        async with self._conn(collection) as conn:
            await self._ensure_table(conn, collection)
            if self._tx is None:
                await conn.execute(sql, ids, bodies)
                return
            # In a savepoint: the error would abort the whole transaction, while callers
            # catch DuplicateKeyError and carry on in it.
            async with conn.transaction():
                await conn.execute(sql, ids, bodies)

    async def put(self, collection: str, doc: Doc) -> None:
        sql = (
            f"INSERT INTO {checked_name(collection)} (id, doc) VALUES ($1, $2::jsonb) "
            "ON CONFLICT (id) DO UPDATE SET doc = excluded.doc"
        )
        async with self._conn(collection) as conn:
            await self._ensure_table(conn, collection)
            await conn.execute(sql, str(doc["id"]), codec.encode(doc))

    async def delete(self, collection: str, id: str) -> None:
        async with self._conn(collection) as conn:
            if await self._exists(conn, collection):
                await conn.execute(f"DELETE FROM {checked_name(collection)} WHERE id = $1", id)


class PostgresStore(_Ops):
    transactions_wait = True  # every statement a round trip

    def __init__(self, pool: asyncpg.Pool) -> None:
        super().__init__(pool, set())
        self._writer = asyncio.Lock()

    @classmethod
    async def open(cls, *, url: str) -> PostgresStore:
        with _mapped():
            pool = await asyncpg.create_pool(
                url,
                min_size=1,
                max_size=_POOL_MAX,
                init=_init,
                reset=_keep,
                timeout=_TIMEOUT_S,
                command_timeout=_TIMEOUT_S * 3,
            )
        return cls(pool)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with self._writer:
            with _mapped():
                conn = await self._pool.acquire(timeout=_TIMEOUT_S)
            try:
                tx = conn.transaction(isolation="serializable")
                with _mapped():
                    await tx.start()
                ops = _Ops(self._pool, self._tables, conn)
                try:
                    yield ops
                except BaseException:
                    with suppress(Exception):
                        await asyncio.shield(tx.rollback())
                    raise
                with _mapped():
                    await tx.commit()
                self._tables.update(ops.created)
            finally:
                with suppress(Exception):
                    await asyncio.shield(self._pool.release(conn))

    async def ensure_index(
        self,
        collection: str,
        fields: Sequence[str],
        *,
        unique: bool = False,
        where: Mapping[str, str | int | bool] | None = None,
    ) -> None:
        cols = [_expr(f) for f in fields]
        if not unique:
            cols.append("id")  # ends like a keyset page's order: (field, id)
        name = _index_name("ux_" if unique else "ix_", collection, fields, where or {})
        partial = ""
        if where:
            # Literals, not parameters: an index predicate cannot take bound values.
            conds = [
                f"{_expr(k)} = '{codec.encode(v).replace(chr(39), chr(39) * 2)}'::jsonb"
                for k, v in where.items()
            ]
            partial = " WHERE " + " AND ".join(conds)
        kind = "UNIQUE INDEX" if unique else "INDEX"
        sql = (
            f"CREATE {kind} IF NOT EXISTS {name} ON {checked_name(collection)} "
            f"({', '.join(cols)}){partial}"
        )
        async with self._conn(collection) as conn:
            await self._ensure_table(conn, collection)
            with suppress(pg.UniqueViolationError, pg.DuplicateTableError):
                await conn.execute(sql)  # a concurrent start created the same index

    async def ping(self) -> None:
        async with self._conn() as conn:
            await conn.fetchval("SELECT 1")

    async def close(self) -> None:
        with suppress(Exception):
            async with asyncio.timeout(_TIMEOUT_S):
                await self._pool.close()
