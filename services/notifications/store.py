"""notifications' persistence on the store port: inbox entries."""

from __future__ import annotations

from services.notifications import webhook_store
from services.notifications.domain import Notification
from shared.store import Cursor, Reader, Store, Writer
from shared.store.keyset import find_page_of_any
from shared.store.migrations import Migration

INBOX_C = "inbox"


async def _inbox_v1(port: Store) -> None:
    # (recipient, created_at): an inbox is read newest first.
    await port.ensure_index(INBOX_C, ["recipient", "created_at"])


async def _unread_v2(port: Store) -> None:
    # An unread-only inbox is a range too: missing and null read_at both index as NULL.
    await port.ensure_index(INBOX_C, ["recipient", "read_at", "created_at"])


MIGRATIONS = [
    Migration(1, "inbox by recipient, newest first", _inbox_v1),
    Migration(2, "unread inbox by recipient, newest first", _unread_v2),
    *webhook_store.MIGRATIONS,
]


async def put_notification(tx: Writer, *, notification: Notification) -> None:
    await tx.put(INBOX_C, notification.model_dump(mode="json"))


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
        where={"read_at": None} if unread_only else None,
        order_by="created_at",
        descending=True,
        limit=limit,
        after=after,
    )
    return [Notification.model_validate(d) for d in docs], cursor
