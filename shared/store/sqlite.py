"""SQLite adapter: one file per service, WAL, a table per collection holding JSON documents.

A writer connection (transactions serialised by an asyncio lock) and a reader connection, so
reads never wait behind a write transaction. Statements run inline on the event loop; what may
block goes to the connection's thread (`shared.store.sqlite_handle`).
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from contextlib import asynccontextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

from shared.store import (
    NULL,
    Cursor,
    Doc,
    DuplicateKeyError,
    Range,
    Where,
    Writer,
    checked_name,
    checked_texts,
    codec,
)
from shared.store.sqlite_handle import BUDGET_S, Handle

R = TypeVar("R")
# A read of at most `limit` rows may run inline a little longer: its caller then spends far
# more than this per row decoding them on the loop anyway. Without it a page read just past
# BUDGET_S (a scoped list's rows lie on more pages than the desk's) ran twice: interrupted
# inline, then again on the thread.
_BUDGET_PER_ROW_S = 0.00001


def _sql_value(value: Any) -> Any:
    return int(value) if isinstance(value, bool) else value


def _expr(field: str) -> str:
    return "id" if field == "id" else f"json_extract(doc, '$.{checked_name(field)}')"


def _json_types(bound: Any) -> str:
    if isinstance(bound, bool):
        raise ValueError("a range bound must be a number or a string")
    return "'integer', 'real'" if isinstance(bound, int | float) else "'text'"


def _where(where: Where | None) -> tuple[list[str], list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    for field, value in (where or {}).items():
        expr = _expr(field)
        if isinstance(value, Range):
            for op, bound in value.bounds():
                clauses.append(f"{expr} {op} ?")
                params.append(_sql_value(bound))
                if field != "id":
                    # SQLite orders numbers (and true/false, read as 1/0) below text, so a
                    # bound only matches values of its own JSON type, as in Mongo and PostgreSQL.
                    clauses.append(f"json_type(doc, '$.{field}') IN ({_json_types(bound)})")
        elif isinstance(value, list | tuple | set | frozenset):
            values = list(value)
            if not values:
                clauses.append("0")
                continue
            clauses.append(f"{expr} IN ({', '.join('?' * len(values))})")
            params.extend(_sql_value(v) for v in values)
        elif value is None:
            clauses.append(f"{expr} IS NULL")
        elif value is NULL:
            # Sought as IS NULL, then told apart from a missing field.
            clauses.append(f"{expr} IS NULL AND json_type(doc, '$.{field}') = 'null'")
        else:
            clauses.append(f"{expr} = ?")
            params.append(_sql_value(value))
    return clauses, params


def _select(
    collection: str,
    where: Where | None,
    order_by: str | None,
    descending: bool,
    limit: int | None,
    after: Cursor | None = None,
) -> tuple[str, list[Any]]:
    sql = f"SELECT doc FROM {checked_name(collection)}"
    clauses, params = _where(where)
    if after is not None:
        if not order_by:
            raise ValueError("a page cursor needs order_by")
        # Row values: the next page starts strictly past (value, id) in the list's order.
        clauses.append(f"({_expr(order_by)}, id) {'<' if descending else '>'} (?, ?)")
        params.extend([_sql_value(after.value), after.id])
    if clauses:
        sql += " WHERE " + " AND ".join(clauses)
    if order_by:
        way = " DESC" if descending else ""
        sql += f" ORDER BY {_expr(order_by)}{way}, id{way}"
    else:
        sql += " ORDER BY rowid"
    if limit is not None:
        sql += f" LIMIT {int(limit)}"
    return sql, params


def _create_table(name: str) -> str:
    return f"CREATE TABLE IF NOT EXISTS {name} (id TEXT PRIMARY KEY, doc TEXT NOT NULL)"


def _select_one(conn: sqlite3.Connection) -> Any:
    return conn.execute("SELECT 1").fetchall()


class _Ops(Writer):
    """Reads and writes on one handle; the store and its transactions share this."""

    def __init__(self, handle: Handle, tables: set[str]) -> None:
        self._handle = handle
        self._tables = tables

    async def _read(self, fn: Callable[[sqlite3.Connection], R], *, rows: int = 0) -> R:
        return await self._handle.run(fn, budget=BUDGET_S + rows * _BUDGET_PER_ROW_S)

    async def _write(self, fn: Callable[[sqlite3.Connection], R]) -> R:
        self._handle.wrote = True
        return await self._handle.run(fn)

    async def _ensure_table(self, collection: str) -> None:
        if collection in self._tables:
            return
        sql = _create_table(checked_name(collection))
        await self._write(lambda c: c.execute(sql))
        self._tables.add(collection)

    async def get(self, collection: str, id: str) -> Doc | None:
        sql = f"SELECT doc FROM {checked_name(collection)} WHERE id = ?"
        try:
            rows = await self._read(lambda c: c.execute(sql, (id,)).fetchall())
        except sqlite3.OperationalError:  # no such table yet
            return None
        return codec.decode(rows[0][0]) if rows else None

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
        sql, params = _select(collection, where, order_by, descending, limit, after)
        try:
            rows = await self._read(
                lambda c: c.execute(sql, params).fetchall(), rows=min(limit or 0, 1000)
            )
        except sqlite3.OperationalError:
            return []
        return [codec.decode(r[0]) for r in rows]

    async def count(self, collection: str, *, where: Where | None = None) -> int:
        clauses, params = _where(where)
        sql = f"SELECT count(*) FROM {checked_name(collection)}"
        sql += " WHERE " + " AND ".join(clauses) if clauses else ""
        try:
            rows = await self._read(lambda c: c.execute(sql, params).fetchall())
        except sqlite3.OperationalError:
            return 0
        return int(rows[0][0])

    async def insert(self, collection: str, doc: Doc) -> None:
        await self._ensure_table(collection)
        sql = f"INSERT INTO {checked_name(collection)} (id, doc) VALUES (?, ?)"
        payload = (doc["id"], codec.encode(doc))
        try:
            await self._write(lambda c: c.execute(sql, payload))
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(f"{collection}/{doc['id']}") from exc

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        if not docs:
            return
        if len(docs) == 1 and texts is None:  # one statement is all or none already
            await self.insert(collection, docs[0])
            return
        await self._ensure_table(collection)
        sql = f"INSERT INTO {checked_name(collection)} (id, doc) VALUES (?, ?)"
        encoded = list(map(codec.encode, docs)) if texts is None else checked_texts(docs, texts)
        rows = [(doc["id"], text) for doc, text in zip(docs, encoded, strict=True)]

        def insert(conn: sqlite3.Connection) -> None:
            # executemany steps the statement once per row, and a duplicate undoes only its
            # own row: the savepoint makes the call all or none, as one statement would be.
            conn.execute("SAVEPOINT insert_many")
            try:
                conn.executemany(sql, rows)
            except BaseException:
                conn.execute("ROLLBACK TO insert_many")
                raise
            finally:
                conn.execute("RELEASE insert_many")

        try:
            await self._write(insert)
        except sqlite3.IntegrityError as exc:
            raise DuplicateKeyError(f"{collection}: {exc}") from exc

    async def put(self, collection: str, doc: Doc) -> None:
        await self._ensure_table(collection)
        sql = (
            f"INSERT INTO {checked_name(collection)} (id, doc) VALUES (?, ?) "
            "ON CONFLICT(id) DO UPDATE SET doc = excluded.doc"
        )
        payload = (doc["id"], codec.encode(doc))
        try:
            await self._write(lambda c: c.execute(sql, payload))
        except sqlite3.IntegrityError as exc:  # a unique secondary index
            raise DuplicateKeyError(f"{collection}/{doc['id']}") from exc

    async def delete(self, collection: str, id: str) -> None:
        sql = f"DELETE FROM {checked_name(collection)} WHERE id = ?"
        with suppress(sqlite3.OperationalError):
            await self._write(lambda c: c.execute(sql, (id,)))


class SqliteStore:
    def __init__(self, path: str) -> None:
        self._tables: set[str] = set()
        self._writer = Handle(path, readonly=False)
        self._reader = Handle(path, readonly=True)
        self._write_ops = _Ops(self._writer, self._tables)
        self._read_ops = _Ops(self._reader, self._tables)
        self._lock = asyncio.Lock()

    @property
    def transactions_wait(self) -> bool:
        # Inline, a transaction is one step of the loop: nothing comes while it runs. Commits
        # on the thread (a disk with slow fsyncs) let requests come and wait for the lock.
        return self._writer.pace.threaded

    @classmethod
    async def open(cls, *, path: str) -> SqliteStore:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        store = cls(path)
        await store._writer.open()  # first: it creates the file the reader opens read-only
        await store._reader.open()
        await store.ping()
        return store

    async def get(self, collection: str, id: str) -> Doc | None:
        return await self._read_ops.get(collection, id)

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
        return await self._read_ops.find(
            collection,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
            after=after,
        )

    async def count(self, collection: str, *, where: Where | None = None) -> int:
        return await self._read_ops.count(collection, where=where)

    async def insert(self, collection: str, doc: Doc) -> None:
        async with self.transaction() as tx:
            await tx.insert(collection, doc)

    async def insert_many(
        self, collection: str, docs: Sequence[Doc], *, texts: Sequence[str] | None = None
    ) -> None:
        async with self.transaction() as tx:
            await tx.insert_many(collection, docs, texts=texts)

    async def put(self, collection: str, doc: Doc) -> None:
        async with self.transaction() as tx:
            await tx.put(collection, doc)

    async def delete(self, collection: str, id: str) -> None:
        async with self.transaction() as tx:
            await tx.delete(collection, id)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[Writer]:
        async with self._lock:
            try:
                # Inline, unless another handle holds the file: then on the thread, waiting.
                await self._writer.run(lambda c: c.execute("BEGIN IMMEDIATE"))
                self._writer.wrote = False
                yield self._write_ops
                await self._writer.commit()
            except BaseException:
                # Tables created inside the rolled-back transaction are gone again.
                self._tables.clear()
                self._writer.rollback()  # inline: no await, no cancellation halfway
                raise

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
        name = "ux_" if unique else "ix_"
        name += f"{collection}_{'_'.join(fields)}"
        partial = ""
        if where:
            if any(isinstance(v, str) and "'" in v for v in where.values()):
                raise ValueError("a partial index condition may not contain quotes")
            # Inlined, not bound: SQLite wants a partial index's condition as literals.
            conds = [f"{_expr(k)} = {json.dumps(_sql_value(v))}" for k, v in where.items()]
            partial = " WHERE " + " AND ".join(c.replace('"', "'") for c in conds)
            name += "_when_" + "_".join(where)
        kind = "UNIQUE INDEX" if unique else "INDEX"
        table = checked_name(collection)
        sql = f"CREATE {kind} IF NOT EXISTS {name} ON {table} ({', '.join(cols)}){partial}"

        def create(conn: sqlite3.Connection) -> None:
            conn.execute(_create_table(table))
            conn.execute(sql)

        async with self._lock:  # on the thread: it scans the table, and commits (fsync)
            await self._writer.run(create, thread=True)
        self._tables.add(collection)

    async def ping(self) -> None:
        async with self._lock:  # a transaction's connection while one runs
            await self._writer.run(_select_one)
        await self._reader.run(_select_one)

    async def close(self) -> None:
        await self._writer.close()
        await self._reader.close()
