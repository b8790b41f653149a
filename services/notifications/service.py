"""notifications' use cases: notices delivered into inboxes, an inbox read, a notification
marked read.

The calling convention and the refusals are shared/usecases.py's.
"""

from __future__ import annotations

from services.notifications import domain, store
from services.notifications.domain import Notice, Notification
from shared.events import utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork
from shared.store import Cursor, Reader
from shared.usecases import NotFound, Transactor


async def deliver(uow: UnitOfWork, *, notices: list[Notice], event_id: str) -> list[Notification]:
    """Each notice into its recipient's inbox, once: an entry the same event put there before
    stays as it is, read or not. Returns the entries added."""
    now = utcnow()
    added = []
    for notice in notices:
        notification = domain.deliver(notice, event_id=event_id, now=now)
        # Inserted, not read first and then written: one statement (a round trip on PostgreSQL).
        if await store.add_notification(uow.tx, notification=notification):
            added.append(notification)
    return added


async def inbox(
    port: Reader,
    *,
    caller: Principal,
    unread_only: bool,
    limit: int,
    after: Cursor | None = None,
) -> tuple[list[Notification], Cursor | None]:
    """The caller's inboxes (personal, organisation, role desk) together, newest first; a
    page, and the cursor of the next one."""
    return await store.inbox(
        port, recipients=caller.inbox_keys, unread_only=unread_only, limit=limit, after=after
    )


async def mark_read(rt: Transactor, *, caller: Principal, notification_id: str) -> Notification:
    """Read twice, the first reading's time stays."""

    async def work(uow: UnitOfWork) -> Notification:
        current = await store.get_notification(uow.tx, notification_id=notification_id)
        if current is None or not domain.may_read(caller, current):
            raise NotFound("notification not found")
        notification = domain.mark_read(current, now=utcnow())
        if notification != current:
            await store.put_notification(uow.tx, notification=notification)
        return notification

    return await rt.transact(work)
