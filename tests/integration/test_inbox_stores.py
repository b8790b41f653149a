"""The unread inbox on every store (every_store): a page behind many read entries, the read
transition, and the upgrade that gives every stored entry a read_at (migration 5), after
which an unread page asks for read_at NULL, which PostgreSQL seeks on (test_list_plans.py)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from services.notifications import service
from services.notifications import store as inbox_store
from services.notifications.domain import Notification
from shared.identity import Principal, Role
from shared.store import Cursor, Store, open_store
from shared.store.migrations import migrate
from tests.support import StoreUrl, every_store
from tests.unit.units import StoreUnits

__all__ = ["every_store"]

OFFICER = Principal(user_id="officer1", role=Role.police_officer)
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)


@pytest.fixture
async def port(store_url: StoreUrl) -> AsyncIterator[Store]:
    port = await open_store(await store_url("notifications"))
    yield port
    await port.close()


def _entry(n: int, *, recipient: str = "user:officer1", read: bool) -> Notification:
    return Notification(
        id=f"ntf-{n:04d}-{recipient}",
        recipient=recipient,
        kind="task_assigned",
        title="a task",
        created_at=T0 + timedelta(seconds=n),
        read_at=T0 + timedelta(days=1) if read else None,
    )


async def _unread(port: Store, *, limit: int) -> list[str]:
    """Every unread page of the officer's inboxes, followed to the end."""
    ids: list[str] = []
    after: Cursor | None = None
    while True:
        page, after = await service.inbox(
            port, caller=OFFICER, unread_only=True, limit=limit, after=after
        )
        ids += [n.id for n in page]
        if after is None:
            return ids


async def test_an_unread_page_lies_behind_every_read_entry(port: Store) -> None:
    await migrate(port, component="notifications", migrations=inbox_store.MIGRATIONS)
    # 400 entries, newest last; all read but every 97th, and the desk's unread ones beside.
    unread = [n for n in range(400) if n % 97 == 5]
    async with port.transaction() as tx:
        for n in range(400):
            entry = _entry(n, read=n not in unread)
            await inbox_store.put_notification(tx, notification=entry)
            desk = _entry(n, recipient="role:dispatcher", read=False)
            await inbox_store.put_notification(tx, notification=desk)
    newest_first = [f"ntf-{n:04d}-user:officer1" for n in reversed(unread)]
    assert await _unread(port, limit=2) == newest_first
    assert await _unread(port, limit=100) == newest_first

    # Read, it leaves the unread inbox and stays in the whole one; read again, it stays read.
    rt = StoreUnits(port)
    await service.mark_read(rt, caller=OFFICER, notification_id=newest_first[0])
    await service.mark_read(rt, caller=OFFICER, notification_id=newest_first[0])
    assert await _unread(port, limit=2) == newest_first[1:]
    first, _ = await service.inbox(port, caller=OFFICER, unread_only=False, limit=400)
    assert len(first) == 400
    assert first[-1 - unread[-1]].id == newest_first[0]
    assert first[-1 - unread[-1]].read_at is not None


async def test_the_upgrade_gives_entries_without_read_at_one_and_they_read_as_unread(
    port: Store,
) -> None:
    before = [m for m in inbox_store.MIGRATIONS if m.version < 5]
    await migrate(port, component="notifications", migrations=before)
    # Written without read_at (an older writer's shape): more than one step's page of them,
    # between read and null ones.
    async with port.transaction() as tx:
        for n in range(1200):
            doc = _entry(n, read=n % 3 == 0).model_dump(mode="json")
            if n % 3 == 1:
                del doc["read_at"]
            await tx.put(inbox_store.INBOX_C, doc)

    applied = await migrate(port, component="notifications", migrations=inbox_store.MIGRATIONS)

    assert applied == [5]
    docs = await port.find(inbox_store.INBOX_C, order_by="id")
    assert len(docs) == 1200
    assert all("read_at" in d for d in docs)
    assert all((d["read_at"] is not None) == (n_of(d) % 3 == 0) for d in docs)
    expected = [f"ntf-{n:04d}-user:officer1" for n in reversed(range(1200)) if n % 3]
    assert await _unread(port, limit=250) == expected
    # Run again (a replica that died mid-step leaves it to the next start): nothing changes.
    (step,) = [m.step for m in inbox_store.MIGRATIONS if m.version == 5]
    await step(port)
    assert await port.find(inbox_store.INBOX_C, order_by="id") == docs


def n_of(doc: dict[str, object]) -> int:
    return int(str(doc["id"])[4:8])
