"""Keyset pages on the store port: a page of documents and the cursor of the next one.

A page is read as `limit + 1` documents: the extra one only says that a next page exists, so the
last page announces none (no empty page to fetch). With a cursor, the order field also gets a
plain bound, redundant with the cursor's (value, id) comparison, that lets an index seek straight
to the page (SQLite does not seek on a row-value comparison).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Sequence
from typing import Any

from shared.store import Cursor, Doc, Range, Reader, Where


def _bounded(
    where: Where | None, *, order_by: str, descending: bool, after: Cursor | None
) -> Where:
    if after is None or order_by in (where or {}):
        return where or {}
    bound = Range(lte=after.value) if descending else Range(gte=after.value)
    return {**(where or {}), order_by: bound}


async def find_page(
    port: Reader,
    collection: str,
    *,
    where: Where | None = None,
    order_by: str,
    descending: bool = False,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[Doc], Cursor | None]:
    """One page in (order_by, id) order, from past `after`; the next page's cursor or None."""
    docs = await port.find(
        collection,
        where=_bounded(where, order_by=order_by, descending=descending, after=after),
        order_by=order_by,
        descending=descending,
        limit=limit + 1,
        after=after,
    )
    return _cut(docs, limit=limit, order_by=order_by)


async def find_page_of_any(
    port: Reader,
    collection: str,
    *,
    field: str,
    values: Sequence[Any],
    where: Where | None = None,
    order_by: str,
    descending: bool = False,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[Doc], Cursor | None]:
    """`find_page` with `field` one of `values`: one index range per value, merged here. A
    single query with `IN` would have to sort every matching document to find the first few."""
    pages = [
        await port.find(
            collection,
            where={
                **_bounded(where, order_by=order_by, descending=descending, after=after),
                field: value,
            },
            order_by=order_by,
            descending=descending,
            limit=limit + 1,
            after=after,
        )
        for value in dict.fromkeys(values)
    ]
    merged = heapq.merge(*pages, key=lambda d: (d[order_by], str(d["id"])), reverse=descending)
    return _cut(list(itertools.islice(merged, limit + 1)), limit=limit, order_by=order_by)


def _cut(docs: list[Doc], *, limit: int, order_by: str) -> tuple[list[Doc], Cursor | None]:
    if len(docs) <= limit:
        return docs, None
    return docs[:limit], Cursor.of(docs[limit - 1], order_by)
