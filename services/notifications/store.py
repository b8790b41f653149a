"""notifications' persistence on the store port: inbox entries."""

from __future__ import annotations

from services.notifications.domain import Notification
from shared.store import Reader, Store, Writer
from shared.store.migrations import Migration

INBOX_C = "inbox"


async def _inbox_v1(port: Store) -> None:
    # (recipient, created_at): an inbox is read newest first.
    await port.ensure_index(INBOX_C, ["recipient", "created_at"])


MIGRATIONS = [Migration(1, "inbox by recipient, newest first", _inbox_v1)]


async def put_notification(tx: Writer, *, notification: Notification) -> None:
    await tx.put(INBOX_C, notification.model_dump(mode="json"))


async def get_notification(port: Reader, *, notification_id: str) -> Notification | None:
    doc = await port.get(INBOX_C, notification_id)
    return Notification.model_validate(doc) if doc else None


async def inbox(
    port: Reader, *, recipients: list[str], unread_only: bool, limit: int
) -> list[Notification]:
    where: dict[str, object] = {"recipient": recipients}
    if unread_only:
        where["read_at"] = None
    docs = await port.find(
        INBOX_C, where=where, order_by="created_at", descending=True, limit=limit
    )
    return [Notification.model_validate(d) for d in docs]
