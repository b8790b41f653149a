"""A list page's audit entries, written as one batch (one MAC pass, one store call per group
commit): one entry per child the page names, in one unbroken chain that the check verifies,
on SQLite and on PostgreSQL (several gateway replicas share one database there)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from gateway.audit import ENTRIES_C, AuditLog, Event
from gateway.audit_check import verify
from shared.events import stored_time
from tests.support import Gateway

CASES = 20


async def _inbox(gateway: Gateway) -> None:
    """A desk inbox naming a case per entry, a few cases twice (named once per page)."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    async with gateway.store("notifications").transaction() as tx:
        for n in range(60):
            await tx.put(
                "inbox",
                {"id": f"ntf-page-{n:03d}", "recipient": "role:dispatcher",
                 "kind": "task_assigned", "title": f"entry {n}", "case_id": f"case-{n % CASES}",
                 "task_id": None, "due_at": None,
                 "created_at": stored_time(start + timedelta(seconds=n)), "read_at": None},
            )  # fmt: skip


@pytest.mark.parametrize("store_backend", ["sqlite", "postgres"])
async def test_concurrent_pages_leave_an_entry_per_named_case_in_one_verified_chain(
    gateway: Gateway,
) -> None:
    await _inbox(gateway)
    log: AuditLog = gateway.apps["gateway"].state.audit
    headers = await gateway.auth("dispatcher1")
    before = log.head[0]
    # Pages and direct appends at once: the log commits them in shared batches.
    reads = [
        gateway.client.get("/v1/notifications", params={"limit": 30}, headers=headers)
        for _ in range(6)
    ]
    other = Event(actor="batch-neighbour", action="read", object_type="report", purpose="案件会商")
    answers, _ = await asyncio.gather(
        asyncio.gather(*reads), asyncio.gather(*(log.append(other, other) for _ in range(6)))
    )
    pages: list[Any] = [r.json() for r in answers]
    assert all(len(p) == 30 for p in pages)
    named = {n["case_id"] for n in pages[0]}
    assert len(named) < 30  # the page names some cases twice: each is recorded once

    docs = await log.store.find(ENTRIES_C, where={"chain": log.chain}, order_by="seq")
    new = [d for d in docs if d["seq"] > before]
    assert [d["seq"] for d in new] == list(range(before + 1, log.head[0] + 1))
    assert [d["prev_mac"] for d in new[1:]] == [d["mac"] for d in new[:-1]]
    reads_of_cases = [d for d in new if d["actor"] == "dispatcher1"]
    assert len(reads_of_cases) == 6 * len(named)
    assert {d["object_id"] for d in reads_of_cases} == named
    assert {d["object_type"] for d in reads_of_cases} == {"case"}
    assert len([d for d in new if d["actor"] == "batch-neighbour"]) == 12

    checkpoints = gateway.apps["gateway"].state.audit_checkpoints
    assert await checkpoints.publish_now() is not None
    js = gateway.apps["gateway"].state.bus.js
    for full in (False, True):
        result = (await verify(log, js=js, full=full)).model_dump()
        [mine] = [c for c in result["chains"] if c["chain"] == log.chain]
        assert mine["problem"] is None, mine
        assert mine["last_seq"] == log.head[0]
    # An edited entry of a page is still named: the batch's MACs are entry_mac's.
    edited = reads_of_cases[len(reads_of_cases) // 2]
    await log.store.put(ENTRIES_C, {**edited, "object_id": "case-other"})
    result = (await verify(log, js=js, full=True)).model_dump()
    [mine] = [c for c in result["chains"] if c["chain"] == log.chain]
    assert (mine["problem"]["seq"], mine["problem"]["kind"]) == (edited["seq"], "altered")
