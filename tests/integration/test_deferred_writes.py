"""Writes deferred to the end of a unit of work (`UnitOfWork.deferred`): made once, just before
the commit, with the batch's effects; nothing of a rolled-back unit, nothing of a failed event."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

import pytest

from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.store import Writer
from shared.streams import ConsumerSpec
from tests.support import consumer_settled, eventually

SPEC = ConsumerSpec("CASES", "test-deferred", "case.report.linked.v1", ack_wait_s=5)


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(
        data, source="case_tracking", subject=f"rep-{n}", correlation_id=f"rep-{n}"
    )


@dataclass
class Seen:
    """Event ids gathered over a unit of work, written as one row when it commits."""

    flushes: list[list[str]]
    ids: list[str] = field(default_factory=list)

    async def flush(self, tx: Writer) -> None:
        self.flushes.append(list(self.ids))
        await tx.put("seen", {"id": f"flush-{len(self.flushes)}", "ids": self.ids})


async def test_deferred_writes_are_made_once_before_the_commit(runtime: Runtime) -> None:
    flushes: list[list[str]] = []

    async def work(uow: UnitOfWork) -> None:
        for n in range(3):
            uow.deferred("seen", lambda: Seen(flushes)).ids.append(f"e{n}")
        assert flushes == []  # nothing written while the work runs

    await runtime.transact(work)
    assert flushes == [["e0", "e1", "e2"]]
    assert (await runtime.store.get("seen", "flush-1")) == {
        "id": "flush-1",
        "ids": ["e0", "e1", "e2"],
    }


async def test_a_rolled_back_unit_writes_nothing_deferred(runtime: Runtime) -> None:
    flushes: list[list[str]] = []

    async def work(uow: UnitOfWork) -> None:
        uow.deferred("seen", lambda: Seen(flushes)).ids.append("e")
        raise ValueError("refused late")

    with pytest.raises(ValueError, match="late"):
        await runtime.transact(work)
    assert flushes == []
    assert await runtime.store.find("seen") == []


async def test_a_batch_flushes_once_per_commit_and_never_a_failed_event(
    runtime: Runtime,
) -> None:
    """Published before the consumer starts, the events come in a few batches; the poison one
    fails alone (the others are committed again without it) and is dead-lettered."""
    events = [linked(n) for n in range(20)]
    poison = events[7]
    flushes: list[list[str]] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        uow.deferred("seen", lambda: Seen(flushes)).ids.append(envelope.id)
        if envelope.id == poison.id:
            raise ValueError("cannot handle this one")

    await asyncio.gather(*(runtime.bus.publish(e) for e in events))
    runtime.consume(SPEC, effect)

    async def all_settled() -> bool:
        return await consumer_settled(runtime.bus.js, "CASES", SPEC.durable, delivered=len(events))

    await eventually(all_settled, within=15)
    rows = await runtime.store.find("seen")
    committed = [i for row in rows for i in row["ids"]]
    assert sorted(committed) == sorted(e.id for e in events if e is not poison)
    assert len(rows) < len(events) - 1  # batches, not an event per row
