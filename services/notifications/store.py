"""notifications' persistence on the store port: inbox entries."""

from __future__ import annotations

from dataclasses import asdict

from services.notifications.domain import Notice
from shared.store import Doc, Reader, Store, Writer
from shared.store.migrations import Migration

INBOX_C = "inbox"


async def _inbox_v1(store: Store) -> None:
    # (recipient, created_at): an inbox is read newest first.
    await store.ensure_index(INBOX_C, ["recipient", "created_at"])


MIGRATIONS = [Migration(1, "inbox by recipient, newest first", _inbox_v1)]


async def put_notice(tx: Writer, *, notice_id: str, notice: Notice, at: str) -> None:
    doc = asdict(notice) | {"id": notice_id, "created_at": at, "read_at": None}
    doc["due_at"] = notice.due_at.isoformat() if notice.due_at else None
    await tx.put(INBOX_C, doc)


async def inbox(
    store: Reader, *, recipients: list[str], unread_only: bool, limit: int
) -> list[Doc]:
    where: dict[str, object] = {"recipient": recipients}
    if unread_only:
        where["read_at"] = None
    return await store.find(
        INBOX_C, where=where, order_by="created_at", descending=True, limit=limit
    )


async def get_notice(store: Reader, *, notice_id: str) -> Doc | None:
    return await store.get(INBOX_C, notice_id)


async def mark_read(tx: Writer, *, notice: Doc, at: str) -> Doc:
    updated = {**notice, "read_at": notice["read_at"] or at}
    await tx.put(INBOX_C, updated)
    return updated
