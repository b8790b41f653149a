"""Keyset pages on the store port: a page of documents and the cursor of the next one.

A page is read as `limit + 1` documents: the extra one only says that a next page exists, so the
last page announces none (no empty page to fetch). With a cursor, the order field also gets a
plain bound, redundant with the cursor's (value, id) comparison, that lets an index seek straight
to the page (SQLite does not seek on a row-value comparison).
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

from shared.store import Cursor, Doc, Range, Reader, Where

# find_page_checked: documents one page may read to check filters no index serves, and how
# many it reads at a time (so that a page that fills early reads little).
CHECK_BUDGET = 1000
CHECK_CHUNK = 250


def _bounded(
    where: Where | None, *, order_by: str, descending: bool, after: Cursor | None
) -> Where:
    have = (where or {}).get(order_by)
    if after is None or (have is not None and not isinstance(have, Range)):
        return where or {}
    if have is None:
        bound = Range(lte=after.value) if descending else Range(gte=after.value)
    else:  # a range asked for (a time span): its cursor side is the tighter of the two
        bound = _tightened(have, after.value, descending=descending)
    return {**(where or {}), order_by: bound}


def _tightened(have: Range, value: Any, *, descending: bool) -> Range:
    if descending:
        edge = have.lt if have.lt is not None else have.lte
        return replace(have, lt=None, lte=value) if edge is None or _below(value, edge) else have
    edge = have.gt if have.gt is not None else have.gte
    return replace(have, gt=None, gte=value) if edge is None or _below(edge, value) else have


def _below(a: Any, b: Any) -> bool:
    try:
        return bool(a < b)
    except TypeError:  # a cursor of another type than the range: the range stands alone
        return False


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


async def find_page_checked(
    port: Reader,
    collection: str,
    *,
    where: Where | None = None,
    check: Mapping[str, Any],
    order_by: str,
    descending: bool = False,
    limit: int,
    after: Cursor | None = None,
    budget: int = CHECK_BUDGET,
) -> tuple[list[Doc], Cursor | None]:
    """`find_page` for filters no index serves together: `where` is sought (through an index),
    `check` (field: the value it must equal) is checked on what that reads, at most `budget`
    documents a page. A page that has not found `limit` by then ends early, even empty, with a
    cursor at the last document it read: the next page goes on from there. A rare combination
    is several quick pages, not one request that reads every document `where` matches."""
    if not check:
        return await find_page(
            port,
            collection,
            where=where,
            order_by=order_by,
            descending=descending,
            limit=limit,
            after=after,
        )
    found: list[Doc] = []
    read = 0
    while read < budget:
        take = min(max(CHECK_CHUNK, limit + 1), budget - read)
        docs = await port.find(
            collection,
            where=_bounded(where, order_by=order_by, descending=descending, after=after),
            order_by=order_by,
            descending=descending,
            limit=take,
            after=after,
        )
        read += len(docs)
        found += [d for d in docs if all(d.get(k) == v for k, v in check.items())]
        if len(found) > limit:
            # Past the last one shown: what lies between it and the read's end is read again.
            return found[:limit], Cursor.of(found[limit - 1], order_by)
        if len(docs) < take:
            return found, None  # nothing further matches `where`
        after = Cursor.of(docs[-1], order_by)
    return found, after  # the budget is spent: the next page reads on from here


def _cut(docs: list[Doc], *, limit: int, order_by: str) -> tuple[list[Doc], Cursor | None]:
    if len(docs) <= limit:
        return docs, None
    return docs[:limit], Cursor.of(docs[limit - 1], order_by)
