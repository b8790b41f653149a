"""Counselling's persistence on the store port: list entries and sessions. Models in and out."""

from __future__ import annotations

from datetime import datetime

from services.school_liaison.counselling.domain import Entry, Session
from shared.events import stored_time
from shared.store import Cursor, Range, Reader, Store, Writer
from shared.store.keyset import find_page
from shared.store.migrations import Migration

ENTRIES_C = "counselling_entries"
SESSIONS_C = "counselling_sessions"


async def _indexes(port: Store) -> None:
    await port.ensure_index(ENTRIES_C, ["school_id", "added_at"])
    await port.ensure_index(ENTRIES_C, ["school_id", "child_ref"])
    await port.ensure_index(SESSIONS_C, ["entry_id", "scheduled_at"])
    await port.ensure_index(SESSIONS_C, ["status", "scheduled_at"])


async def _by_child(port: Store) -> None:
    await port.ensure_index(ENTRIES_C, ["child_ref"])


COMPONENT = "school_liaison.counselling"  # its own migration sequence
MIGRATIONS = [
    Migration(1, "counselling entries by school, sessions by entry and by due time", _indexes),
    Migration(2, "counselling entries by child, for retention", _by_child),
]


async def get_entry(port: Reader, *, entry_id: str) -> Entry | None:
    doc = await port.get(ENTRIES_C, entry_id)
    return Entry.model_validate(doc) if doc else None


async def entry_of_child(port: Reader, *, school_id: str, child_ref: str) -> Entry | None:
    """The child's entry on the school's list now (removed ones are history)."""
    docs = await port.find(ENTRIES_C, where={"school_id": school_id, "child_ref": child_ref})
    listed = [e for e in map(Entry.model_validate, docs) if e.removed_at is None]
    return listed[0] if listed else None


async def entries_of_child(port: Reader, *, child_ref: str) -> list[Entry]:
    """Every entry of the child, at any school, removed or not (few: one per school)."""
    return [
        Entry.model_validate(d) for d in await port.find(ENTRIES_C, where={"child_ref": child_ref})
    ]


async def erase_child(tx: Writer, *, child_ref: str) -> int:
    """Drop the sealed parts of the child's entries and session notes (their key is destroyed
    in the same transaction); the facts stay. Returns the entries erased."""
    entries = await entries_of_child(tx, child_ref=child_ref)
    for entry in entries:
        await put_entry(tx, entry=entry.model_copy(update={"sealed": None}))
        for doc in await tx.find(SESSIONS_C, where={"entry_id": entry.id}):
            if doc.get("sealed_note") is not None:
                await tx.put(SESSIONS_C, {**doc, "sealed_note": None})
    return len(entries)


async def put_entry(tx: Writer, *, entry: Entry) -> None:
    await tx.put(ENTRIES_C, entry.model_dump(mode="json"))


async def entries_of_school(
    port: Reader, *, school_id: str, limit: int, after: Cursor | None = None
) -> tuple[list[Entry], Cursor | None]:
    """Oldest entry first; the next page's cursor, if any."""
    docs, cursor = await find_page(
        port,
        ENTRIES_C,
        where={"school_id": school_id},
        order_by="added_at",
        limit=limit,
        after=after,
    )
    return [Entry.model_validate(d) for d in docs], cursor


async def get_session(port: Reader, *, session_id: str) -> Session | None:
    doc = await port.get(SESSIONS_C, session_id)
    return Session.model_validate(doc) if doc else None


async def put_session(tx: Writer, *, session: Session) -> None:
    await tx.put(SESSIONS_C, session.model_dump(mode="json"))


async def sessions_of_entry(
    port: Reader, *, entry_id: str, limit: int, after: Cursor | None = None
) -> tuple[list[Session], Cursor | None]:
    """In time order (the student's state over time); the next page's cursor, if any."""
    docs, cursor = await find_page(
        port,
        SESSIONS_C,
        where={"entry_id": entry_id},
        order_by="scheduled_at",
        limit=limit,
        after=after,
    )
    return [Session.model_validate(d) for d in docs], cursor


async def scheduled_of_entry(port: Reader, *, entry_id: str) -> list[Session]:
    where = {"entry_id": entry_id, "status": "scheduled"}
    return [Session.model_validate(d) for d in await port.find(SESSIONS_C, where=where)]


async def scheduled_before(
    port: Reader, *, cutoff: datetime, after: Cursor | None = None, limit: int = 500
) -> tuple[list[Session], Cursor | None]:
    """Sessions still scheduled whose time is before `cutoff`, oldest first: the sweep's
    prefilter (it decides in its own transaction)."""
    return_docs, cursor = await find_page(
        port,
        SESSIONS_C,
        where={"status": "scheduled", "scheduled_at": Range(lt=stored_time(cutoff))},
        order_by="scheduled_at",
        limit=limit,
        after=after,
    )
    return [Session.model_validate(d) for d in return_docs], cursor
