"""notifications' use cases on a real SQLite store: delivering once, reading an inbox, marking
read."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.notifications import service
from services.notifications.domain import DUTY_DESK, Notice
from services.notifications.store import INBOX_C, MIGRATIONS, get_notification
from shared.identity import Principal, Role
from shared.usecases import NotFound
from tests.unit.units import StoreUnits, sqlite_port

OFFICER = Principal(user_id="officer-1", role=Role.police_officer)
DISPATCHER = Principal(user_id="desk-1", role=Role.dispatcher)
SOCIAL = Principal(user_id="w1", role=Role.social_worker, org_id="org-1")
DUE = datetime(2024, 2, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
async def rt(tmp_path: Path) -> AsyncIterator[StoreUnits]:
    port = await sqlite_port(tmp_path, component="notifications", migrations=MIGRATIONS)
    yield StoreUnits(port)
    await port.close()


def assigned(recipient: str, title: str = "[critical] Home visit") -> Notice:
    return Notice(
        recipient=recipient,
        kind="task_assigned",
        title=title,
        case_id="case-1",
        task_id="task-1",
        due_at=DUE,
    )


async def deliver(rt: StoreUnits, event_id: str, *notices: Notice) -> list[str]:
    added = await rt.transact(
        lambda uow: service.deliver(uow, notices=list(notices), event_id=event_id)
    )
    return [n.id for n in added]


async def test_one_event_puts_one_entry_in_each_recipients_inbox(rt: StoreUnits) -> None:
    ids = await deliver(rt, "evt-1", assigned("user:officer-1"), assigned(DUTY_DESK))
    assert ids == ["ntf-evt-1-user:officer-1", "ntf-evt-1-role:dispatcher"]
    stored = await get_notification(rt.store, notification_id=ids[0])
    assert stored is not None
    assert (stored.recipient, stored.due_at, stored.read_at) == ("user:officer-1", DUE, None)


async def test_the_same_event_again_adds_nothing_and_keeps_what_was_read(
    rt: StoreUnits,
) -> None:
    (first,) = await deliver(rt, "evt-1", assigned("user:officer-1"))
    read = await service.mark_read(rt, caller=OFFICER, notification_id=first)
    assert await deliver(rt, "evt-1", assigned("user:officer-1")) == []
    assert await get_notification(rt.store, notification_id=first) == read


async def test_an_inbox_is_the_callers_entries_newest_first(rt: StoreUnits) -> None:
    await deliver(rt, "evt-1", assigned("user:officer-1", "first"), assigned(DUTY_DESK))
    await deliver(rt, "evt-2", assigned("user:officer-1", "second"))
    await deliver(rt, "evt-3", assigned("org:org-1", "social"))
    mine, _ = await service.inbox(rt.store, caller=OFFICER, unread_only=False, limit=10)
    assert [n.title for n in mine] == ["second", "first"]
    social, _ = await service.inbox(rt.store, caller=SOCIAL, unread_only=False, limit=10)
    assert [n.title for n in social] == ["social"]
    desk, _ = await service.inbox(rt.store, caller=DISPATCHER, unread_only=False, limit=10)
    assert [n.recipient for n in desk] == [DUTY_DESK]


async def _pages(rt: StoreUnits, caller: Principal, *, unread: bool, limit: int) -> list[list[str]]:
    pages: list[list[str]] = []
    cursor = None
    while True:
        page, cursor = await service.inbox(
            rt.store, caller=caller, unread_only=unread, limit=limit, after=cursor
        )
        pages.append([n.title for n in page])
        if cursor is None:
            return pages


async def test_an_inbox_pages_newest_first_across_the_callers_inboxes(rt: StoreUnits) -> None:
    """Personal, organisation and role entries interleave by time, page after page."""
    for n, recipient in enumerate(["user:w1", "org:org-1", "role:social_worker"] * 3):
        await deliver(rt, f"evt-{n}", assigned(recipient, f"n{n}"))
    await deliver(rt, "evt-x", assigned("org:org-2", "not hers"))
    newest_first = [f"n{n}" for n in reversed(range(9))]
    assert await _pages(rt, SOCIAL, unread=False, limit=4) == [
        newest_first[:4],
        newest_first[4:8],
        newest_first[8:],
    ]
    for entry in ("ntf-evt-7-org:org-1", "ntf-evt-3-user:w1", "ntf-evt-5-role:social_worker"):
        await service.mark_read(rt, caller=SOCIAL, notification_id=entry)
    unread = [t for t in newest_first if t not in ("n7", "n3", "n5")]
    assert await _pages(rt, SOCIAL, unread=True, limit=2) == [
        unread[:2],
        unread[2:4],
        unread[4:],
    ]
    assert await _pages(rt, SOCIAL, unread=False, limit=9) == [newest_first]


async def test_marking_read_keeps_the_first_reading_and_drops_it_from_unread(
    rt: StoreUnits,
) -> None:
    (entry,) = await deliver(rt, "evt-1", assigned("user:officer-1"))
    read = await service.mark_read(rt, caller=OFFICER, notification_id=entry)
    assert read.read_at is not None
    again = await service.mark_read(rt, caller=OFFICER, notification_id=entry)
    assert again.read_at == read.read_at
    assert await service.inbox(rt.store, caller=OFFICER, unread_only=True, limit=10) == ([], None)
    assert rt.events == []  # reading announces nothing


async def test_someone_elses_or_an_unknown_notification_is_not_found(rt: StoreUnits) -> None:
    (entry,) = await deliver(rt, "evt-1", assigned("user:officer-1"))
    for caller, notification_id in [(DISPATCHER, entry), (OFFICER, "ntf-none")]:
        with pytest.raises(NotFound):
            await service.mark_read(rt, caller=caller, notification_id=notification_id)
    stored = await get_notification(rt.store, notification_id=entry)
    assert stored is not None
    assert stored.read_at is None


async def test_entries_stored_before_the_models_still_read(rt: StoreUnits) -> None:
    """The store used to write dicts with isoformat times: those entries read as models."""
    await rt.store.put(
        INBOX_C,
        {
            "id": "ntf-old",
            "recipient": "user:officer-1",
            "kind": "task_assigned",
            "title": "old",
            "case_id": "case-1",
            "task_id": "task-1",
            "due_at": DUE.isoformat(),
            "created_at": datetime(2024, 2, 1, 9, 0, tzinfo=UTC).isoformat(),
            "read_at": None,
        },
    )
    (old,), _ = await service.inbox(rt.store, caller=OFFICER, unread_only=True, limit=10)
    assert (old.id, old.due_at) == ("ntf-old", DUE)
    read = await service.mark_read(rt, caller=OFFICER, notification_id="ntf-old")
    assert read.read_at is not None
    assert read.created_at == datetime(2024, 2, 1, 9, tzinfo=UTC)
