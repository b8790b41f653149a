"""notifications' use cases: notices delivered into inboxes, an inbox read, a notification
marked read.

One calling convention, keyword-only after the first argument:
- reads take the store port: `inbox(port, *, ...)`;
- the work of one transaction takes its unit of work, whose transaction the caller owns:
  `deliver(uow, *, ...)` (the consumer's, which makes it idempotent and retries it);
- a request that runs its own transactions (retries) takes what it needs of the Runtime, a
  `Transactor`: `mark_read(rt, *, ...)`.
What a caller can get wrong is an exception here (NotFound); api.py turns it into its status.
"""

from __future__ import annotations

from typing import Protocol, TypeVar

from services.notifications import domain, store
from services.notifications.domain import Notice, Notification
from shared.events import utcnow
from shared.identity import Principal
from shared.runtime import UnitOfWork, Work
from shared.store import Reader, Store

R = TypeVar("R")


class Transactor(Protocol):
    """What a request's use case needs of the Runtime (which is one): its store, and units of
    work run again from the start when they lose a race, their events committed with them."""

    @property
    def store(self) -> Store: ...

    async def transact(self, work: Work[R]) -> R: ...


class NotFound(Exception):
    """There is no such notification in the caller's inboxes (whether it exists elsewhere is
    not theirs to learn)."""


async def deliver(uow: UnitOfWork, *, notices: list[Notice], event_id: str) -> list[Notification]:
    """Each notice into its recipient's inbox, once: an entry the same event put there before
    stays as it is, read or not. Returns the entries added."""
    now = utcnow()
    added = []
    for notice in notices:
        notification = domain.deliver(notice, event_id=event_id, now=now)
        if await store.get_notification(uow.tx, notification_id=notification.id) is None:
            await store.put_notification(uow.tx, notification=notification)
            added.append(notification)
    return added


async def inbox(
    port: Reader, *, caller: Principal, unread_only: bool, limit: int
) -> list[Notification]:
    """The caller's inboxes (personal, organisation, role desk) together, newest first."""
    return await store.inbox(
        port, recipients=caller.inbox_keys, unread_only=unread_only, limit=limit
    )


async def mark_read(rt: Transactor, *, caller: Principal, notification_id: str) -> Notification:
    """Read twice, the first reading's time stays."""

    async def work(uow: UnitOfWork) -> Notification:
        current = await store.get_notification(uow.tx, notification_id=notification_id)
        if current is None or not domain.may_read(caller, current):
            raise NotFound(notification_id)
        notification = domain.mark_read(current, now=utcnow())
        if notification != current:
            await store.put_notification(uow.tx, notification=notification)
        return notification

    return await rt.transact(work)
