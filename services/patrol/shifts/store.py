"""Shifts' and posts' persistence: by start time (a day is a range), posts also by school."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from services.patrol.shifts.domain import Post, Shift
from shared.events import stored_time
from shared.store import Cursor, Range, Reader, Store, Writer
from shared.store.keyset import find_page, find_page_of_any
from shared.store.migrations import Migration

SHIFTS_C = "patrol_shifts"
POSTS_C = "gate_posts"
COMPONENT = "patrol.shifts"


async def _indexes(port: Store) -> None:
    await port.ensure_index(SHIFTS_C, ["starts_at"])
    await port.ensure_index(POSTS_C, ["starts_at"])
    await port.ensure_index(POSTS_C, ["school_id", "starts_at"])
    await port.ensure_index(POSTS_C, ["status", "starts_at"])


MIGRATIONS = [Migration(1, "shifts and posts by start; posts by school and by status", _indexes)]


def _between(start: datetime | None, end: datetime | None) -> dict[str, Any]:
    if start is None and end is None:
        return {}
    return {
        "starts_at": Range(
            gte=stored_time(start) if start else None, lt=stored_time(end) if end else None
        )
    }


async def put_shift(tx: Writer, *, shift: Shift) -> None:
    await tx.put(SHIFTS_C, shift.model_dump(mode="json"))


async def put_post(tx: Writer, *, post: Post) -> None:
    await tx.put(POSTS_C, post.model_dump(mode="json"))


async def get_post(port: Reader, *, post_id: str) -> Post | None:
    doc = await port.get(POSTS_C, post_id)
    return Post.model_validate(doc) if doc else None


async def shifts(
    port: Reader,
    *,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Shift], Cursor | None]:
    docs, cursor = await find_page(
        port, SHIFTS_C, where=_between(start, end), order_by="starts_at", limit=limit, after=after
    )
    return [Shift.model_validate(d) for d in docs], cursor


async def posts(
    port: Reader,
    *,
    schools: Sequence[str] | None,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    after: Cursor | None,
) -> tuple[list[Post], Cursor | None]:
    """Soonest first; `schools` None: every school."""
    where = _between(start, end)
    if schools is None:
        docs, cursor = await find_page(
            port, POSTS_C, where=where, order_by="starts_at", limit=limit, after=after
        )
    elif not schools:
        return [], None
    else:
        docs, cursor = await find_page_of_any(
            port,
            POSTS_C,
            field="school_id",
            values=schools,
            where=where,
            order_by="starts_at",
            limit=limit,
            after=after,
        )
    return [Post.model_validate(d) for d in docs], cursor


async def waiting_since(
    port: Reader, *, before: datetime, limit: int = 500, after: Cursor | None = None
) -> tuple[list[Post], Cursor | None]:
    """Posts nobody checked in at that started before `before`: the sweep's prefilter."""
    docs, cursor = await find_page(
        port,
        POSTS_C,
        where={"status": "waiting", "starts_at": Range(lt=stored_time(before))},
        order_by="starts_at",
        limit=limit,
        after=after,
    )
    return [Post.model_validate(d) for d in docs], cursor
