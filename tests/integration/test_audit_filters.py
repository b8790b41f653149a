"""The auditor's filters combined: every matching entry once, newest first, however rare the
combination, and no page reading more than its budget of the trail (gateway/audit.py `page`,
shared/store/keyset.py `find_page_checked`), on every store."""

from __future__ import annotations

import random
import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from gateway.audit import ENTRIES_C, AuditLog, Event
from shared.store import Cursor, Doc, open_store
from shared.store.keyset import find_page_checked
from tests.support import StoreUrl, every_store
from tests.unit.units import Recording

__all__ = ["every_store"]

ENTRIES = 600
BUDGET = 40
OUTCOMES = ("allowed",) * 12 + ("denied", "not_found", "error")


@pytest.fixture
async def trail(store_url: StoreUrl) -> AsyncIterator[AuditLog]:
    store = await open_store(await store_url("gateway"))
    log = await AuditLog.open(store, key="k" * 32)
    rng = random.Random(5)
    # Batches of 20 share a time (one group commit each): the order within one is the id's.
    for _ in range(ENTRIES // 20):
        await log.append(
            *(
                Event(
                    actor=f"user{rng.randrange(4)}",
                    action=rng.choice(("read", "read", "create", "export")),
                    object_type="report",
                    child_ref=f"child-{rng.randrange(30)}",
                    outcome=rng.choice(OUTCOMES),
                )
                for _ in range(20)
            )
        )
    try:
        yield log
    finally:
        await log.close()
        await store.close()


async def _everything(log: AuditLog) -> list[Doc]:
    docs = await log.store.find(ENTRIES_C, order_by="at", descending=True)
    assert len(docs) == ENTRIES
    return docs


async def _follow(log: AuditLog, *, limit: int, **filters: Any) -> list[list[str]]:
    pages: list[list[str]] = []
    after: Cursor | None = None
    while True:
        entries, after = await log.page(limit=limit, after=after, budget=BUDGET, **filters)
        assert len(entries) <= limit
        pages.append([e.id for e in entries])
        if after is None:
            return pages
        assert len(pages) < ENTRIES  # every page moves on


COMBINATIONS: list[dict[str, str]] = [
    {"actor": "user1", "outcome": "error"},
    {"action": "export", "outcome": "denied"},
    {"actor": "user2", "action": "create", "outcome": "allowed"},
    {"child_ref": "child-7", "action": "read"},
    {"actor": "user3", "outcome": "nothing-has-this"},
]


@pytest.mark.parametrize("filters", COMBINATIONS, ids=lambda f: "+".join(f))
async def test_combined_filters_give_every_match_once_newest_first(
    trail: AuditLog, filters: dict[str, str]
) -> None:
    everything = await _everything(trail)
    expected = [d["id"] for d in everything if all(d[k] == v for k, v in filters.items())]
    for limit in (1, 7, 1000):
        pages = await _follow(trail, limit=limit, **filters)
        assert [i for page in pages for i in page] == expected, (filters, limit)


async def test_a_rare_combination_is_many_short_pages_each_within_its_budget(
    trail: AuditLog,
) -> None:
    everything = await _everything(trail)
    user3 = sum(d["actor"] == "user3" for d in everything)
    pages = await _follow(trail, limit=50, actor="user3", outcome="nothing-has-this")
    assert pages == [[]] * (user3 // BUDGET + 1)
    # What each of those pages read of the store: its budget of user3's entries, none twice.
    recording = Recording(trail.store)  # keeps every document the store returns
    after: Cursor | None = None
    reads = []
    while True:
        before = len(recording.docs)
        found, after = await find_page_checked(
            recording,
            ENTRIES_C,
            where={"actor": "user3"},
            check={"outcome": "nothing-has-this"},
            order_by="at",
            descending=True,
            limit=50,
            after=after,
            budget=BUDGET,
        )
        reads.append(len(recording.docs) - before)
        assert found == []
        if after is None:
            break
    assert max(reads) <= BUDGET
    assert sum(reads) == user3
    assert len(reads) == len(pages)


async def test_a_time_span_with_combined_filters_keeps_to_the_span(trail: AuditLog) -> None:
    everything = await _everything(trail)
    times = sorted({d["at"] for d in everything})
    since, until = times[len(times) // 4], times[3 * len(times) // 4]
    expected = [
        d["id"]
        for d in everything
        if since <= d["at"] <= until and d["actor"] == "user0" and d["action"] == "read"
    ]
    assert expected
    pages = await _follow(
        trail,
        limit=3,
        actor="user0",
        action="read",
        since=datetime.fromisoformat(since),
        until=datetime.fromisoformat(until),
    )
    assert [i for page in pages for i in page] == expected


async def test_one_filter_alone_fills_its_pages(trail: AuditLog) -> None:
    """One filter is sought in its own index: a page is short only at the end."""
    everything = await _everything(trail)
    expected = [d["id"] for d in everything if d["outcome"] == "denied"]
    pages = await _follow(trail, limit=5, outcome="denied")
    assert [i for page in pages for i in page] == expected
    assert all(len(page) == 5 for page in pages[:-1])


async def test_a_span_past_every_entry_is_one_empty_last_page(trail: AuditLog) -> None:
    later = datetime.now(UTC) + timedelta(days=1)
    assert await trail.page(actor="user1", outcome="error", since=later, budget=BUDGET) == (
        [],
        None,
    )


async def test_the_outcome_index_built_ahead_as_operations_says_is_the_one_a_start_finds(
    pg_server: Any,
) -> None:
    """docs/operations.md: on a large trail, build the index before the rollout (CONCURRENTLY,
    writes go on); the gateway's start must then find it, the same as it would have built."""
    text = (Path(__file__).parents[2] / "docs" / "operations.md").read_text()
    found = re.search(r"CREATE INDEX CONCURRENTLY[^;]*;", text)
    assert found, "docs/operations.md no longer shows how to build the index ahead"
    made = {}
    for ahead in (True, False):
        url = await pg_server.create_database(f"ahead_{ahead}".lower())
        store = await open_store(url)
        conn = await asyncpg.connect(url)
        try:
            await store.insert(ENTRIES_C, {"id": "x:000000000001", "at": "2026", "outcome": "ok"})
            if ahead:
                await conn.execute(found.group(0))
            await (await AuditLog.open(store, key="k" * 32)).close()
            rows = await conn.fetch(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'audit' "
                "AND indexdef LIKE '%''outcome''%'"
            )
            made[ahead] = [(r["indexname"], r["indexdef"]) for r in rows]
        finally:
            await conn.close()
            await store.close()
    assert len(made[True]) == 1
    assert made[True] == made[False]
