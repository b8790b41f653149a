"""notifications' persistence on the store port: inbox entries."""

from __future__ import annotations

from services.notifications import webhook_store
from services.notifications.domain import Notification
from shared.store import NULL, Cursor, DuplicateKeyError, Reader, Store, Writer
from shared.store.keyset import find_page, find_page_of_any
from shared.store.migrations import Migration
from shared.store.retry import transact

INBOX_C = "inbox"


async def _inbox_v1(port: Store) -> None:
    # (recipient, created_at): an inbox is read newest first.
    await port.ensure_index(INBOX_C, ["recipient", "created_at"])


async def _unread_v2(port: Store) -> None:
    # An unread-only inbox is a range too: read_at null, newest first.
    await port.ensure_index(INBOX_C, ["recipient", "read_at", "created_at"])


async def _read_at_always_v5(port: Store) -> None:
    """Entries lacking read_at get it, null: an unread page then asks for read_at NULL, which
    PostgreSQL seeks on, where "missing or null" is an OR it filters along the recipient's
    index (through every read entry before an unread one). Safe to run again."""
    after: Cursor | None = None

    async def page(tx: Writer) -> Cursor | None:
        # Read and written in one transaction: an entry marked read meanwhile stays read.
        docs, next_ = await find_page(
            tx, INBOX_C, where={"read_at": None}, order_by="id", limit=500, after=after
        )
        for doc in docs:
            if "read_at" not in doc:
                await tx.put(INBOX_C, {**doc, "read_at": None})
        return next_

    while (after := await transact(port, page)) is not None:
        pass


MIGRATIONS = [
    Migration(1, "inbox by recipient, newest first", _inbox_v1),
    Migration(2, "unread inbox by recipient, newest first", _unread_v2),
    *webhook_store.MIGRATIONS,
    Migration(5, "every inbox entry carries read_at", _read_at_always_v5),
]


async def put_notification(tx: Writer, *, notification: Notification) -> None:
    # The dump always carries read_at (null while unread): the unread inbox asks for NULL.
    await tx.put(INBOX_C, notification.model_dump(mode="json"))


async def add_notification(tx: Writer, *, notification: Notification) -> bool:
    """Inserts the entry unless one with its id is there (left as it is, read or not)."""
    try:
        await tx.insert(INBOX_C, notification.model_dump(mode="json"))
    except DuplicateKeyError:
        return False
    return True


async def get_notification(port: Reader, *, notification_id: str) -> Notification | None:
    doc = await port.get(INBOX_C, notification_id)
    return Notification.model_validate(doc) if doc else None


async def inbox(
    port: Reader,
    *,
    recipients: list[str],
    unread_only: bool,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[Notification], Cursor | None]:
    """Newest first across the recipients' inboxes; the next page's cursor, if any."""
    docs, cursor = await find_page_of_any(
        port,
        INBOX_C,
        field="recipient",
        values=recipients,
        where={"read_at": NULL} if unread_only else None,
        order_by="created_at",
        descending=True,
        limit=limit,
        after=after,
    )
    return [Notification.model_validate(d) for d in docs], cursor
