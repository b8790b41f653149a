"""The JetStream bus on a real NATS server: de-duplication, acks, redelivery, dead letters."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import nats.errors
import pytest
from nats.js.api import StreamInfo

from shared import consumer
from shared.bus import BATCH
from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import ConsumerSpec
from tests.support import consumer_settled, eventually, every_store

__all__ = ["every_store"]  # the idempotent consumer on SQLite and on PostgreSQL

SPEC = ConsumerSpec("CASES", "test-links", "case.report.linked.v1", ack_wait_s=5)


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(
        data, source="case_tracking", subject=f"rep-{n}", correlation_id=f"rep-{n}"
    )


async def stream(rt: Runtime, name: str) -> StreamInfo:
    return await rt.bus.js.stream_info(name)


async def test_a_republished_event_is_stored_once(runtime: Runtime) -> None:
    event = linked(1)
    for _ in range(3):
        await runtime.bus.publish(event)
    assert (await stream(runtime, "CASES")).state.messages == 1


async def test_handler_sees_each_event_and_the_consumer_acks_it(runtime: Runtime) -> None:
    seen: list[str] = []

    async def effect(envelope: Envelope, _uow: UnitOfWork) -> None:
        seen.append(envelope.parse(ReportLinked).report_id)

    runtime.consume(SPEC, effect)
    await asyncio.gather(*(runtime.bus.publish(linked(n)) for n in range(20)))

    await eventually(lambda: _all_acked(runtime, 20))
    assert sorted(seen) == sorted(f"rep-{n}" for n in range(20))


async def test_a_failing_handler_is_retried_until_it_succeeds(runtime: Runtime) -> None:
    attempts: list[int] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        attempts.append(1)
        if len(attempts) < 2:
            raise ConnectionError("downstream timeout")
        await uow.tx.put("effects", {"id": envelope.id})

    runtime.consume(SPEC, effect)
    event = linked(1)
    await runtime.bus.publish(event)
    await eventually(lambda: runtime.store.get("effects", event.id))
    assert len(attempts) == 2


async def test_a_poison_event_is_dead_lettered_and_does_not_block_the_next(
    runtime: Runtime,
) -> None:
    poison, good = linked(1), linked(2)
    attempts: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        attempts.append(envelope.id)
        if envelope.id == poison.id:
            raise ValueError("cannot handle this one")
        await uow.tx.put("effects", {"id": envelope.id})

    runtime.consume(SPEC, effect)
    await runtime.bus.publish(poison)
    await runtime.bus.publish(good)
    await eventually(lambda: runtime.store.get("effects", good.id))

    async def dead_lettered() -> int:
        return (await stream(runtime, "DEADLETTER")).state.messages

    assert await eventually(dead_lettered, within=10) == 1
    assert attempts.count(poison.id) == runtime.bus.max_deliver == 3
    message = await runtime.bus.js.get_last_msg("DEADLETTER", f"deadletter.{SPEC.durable}")
    assert message.headers is not None
    assert message.headers["Hulei-Original-Subject"] == "case.report.linked.v1"
    assert "ValueError" in message.headers["Hulei-Reason"]
    assert Envelope.model_validate_json(message.data or b"").id == poison.id


async def test_a_duplicate_delivery_changes_nothing_the_second_time(runtime: Runtime) -> None:
    """Same event id, published without de-duplication (as after the window): applied once."""
    applied: list[str] = []

    async def effect(envelope: Envelope, _uow: UnitOfWork) -> None:
        applied.append(envelope.id)

    runtime.consume(SPEC, effect)
    event = linked(1)
    payload = event.model_dump_json().encode()
    for _ in range(2):
        await runtime.bus.js.publish(event.nats_subject, payload)  # no Nats-Msg-Id
    after = linked(2)
    await runtime.bus.publish(after)

    async def done() -> bool:
        return after.id in applied

    await eventually(done)
    assert applied.count(event.id) == 1


async def _backlog(rt: Runtime, *events: Envelope) -> None:
    """Published before anyone consumes them: the consumer then fetches them as a batch."""
    for event in events:
        await rt.bus.publish(event)


async def test_a_backlog_is_committed_a_batch_at_a_time_and_a_repeat_applied_once(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batching is what is tested, not this machine's speed: a stalled pull may take its time.
    monkeypatch.setattr(consumer, "BURST_WAIT_S", 10.0)
    events = [linked(n) for n in range(12)]
    await _backlog(runtime, *events)
    # The same event again without Nats-Msg-Id (as after the dedup window): in the same batch.
    await runtime.bus.js.publish(events[5].nats_subject, events[5].model_dump_json().encode())
    units: list[UnitOfWork] = []
    applied: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if all(u is not uow for u in units):
            units.append(uow)
        applied.append(envelope.id)
        await uow.tx.insert("effects", {"id": envelope.id})

    runtime.consume(SPEC, effect)

    async def all_applied() -> bool:
        return len(applied) >= len(events)

    await eventually(all_applied)
    await eventually(lambda: _all_acked(runtime, len(events) + 1))  # the repeat too
    assert sorted(applied) == sorted(e.id for e in events)  # each once, the repeat skipped
    assert len(await runtime.store.find("effects")) == len(events)
    # One transaction: the long poll's first message tells how many wait behind it, and they
    # are fetched to join it (it used to be committed alone, then the rest).
    assert len(units) == 1


async def test_a_long_backlog_is_taken_in_batches_of_the_bus_size(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A batch's fixed cost (pull, marks query, commit) is shared by up to `BATCH` events: a
    backlog of a batch and a half is two transactions, the first full."""
    monkeypatch.setattr(consumer, "BURST_WAIT_S", 10.0)  # batching is tested, not speed
    events = [linked(n) for n in range(BATCH + BATCH // 2)]
    await asyncio.gather(*(runtime.bus.publish(e) for e in events))
    units: list[list[UnitOfWork]] = []  # the units themselves: an id may be reused

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if not units or units[-1][0] is not uow:
            units.append([])
        units[-1].append(uow)
        await uow.tx.insert("effects", {"id": envelope.id})

    runtime.consume(SPEC, effect)
    await eventually(lambda: _all_acked(runtime, len(events)))
    assert len(await runtime.store.find("effects")) == len(events)
    assert [len(unit) for unit in units] == [BATCH, BATCH // 2]


async def _all_acked(rt: Runtime, events: int) -> bool:
    return await consumer_settled(rt.bus.js, "CASES", SPEC.durable, delivered=events)


async def test_a_poison_event_in_a_batch_fails_alone_and_the_others_are_applied_once(
    runtime: Runtime,
) -> None:
    first, before, poison, *after = [linked(n) for n in range(5)]
    await _backlog(runtime, first, before, poison, *after)
    attempts: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        attempts.append(envelope.id)
        if envelope.id == poison.id:
            raise ValueError("cannot handle this one")
        await uow.tx.insert("effects", {"id": envelope.id})  # twice would fail: once only

    runtime.consume(SPEC, effect)

    async def dead_lettered() -> int:
        return (await stream(runtime, "DEADLETTER")).state.messages

    assert await eventually(dead_lettered, within=10) == 1
    await eventually(lambda: _all_acked(runtime, 5))
    stored = {doc["id"] for doc in await runtime.store.find("effects")}
    assert stored == {e.id for e in (first, before, *after)}
    # Tried once per delivery, as when events were handled one by one.
    assert attempts.count(poison.id) == runtime.bus.max_deliver == 3
    message = await runtime.bus.js.get_last_msg("DEADLETTER", f"deadletter.{SPEC.durable}")
    assert message.headers is not None
    assert message.headers["Hulei-Deliveries"] == "3"
    assert Envelope.model_validate_json(message.data or b"").id == poison.id


async def test_two_replicas_consuming_in_batches_count_every_event_once(
    runtime_factory: Callable[..., AbstractAsyncContextManager[Runtime]],
) -> None:
    """Both replicas' batches read-modify-write one document: the store's conflicts are
    retried (PostgreSQL) or serialised (SQLite), and no event is lost or counted twice."""
    events = [linked(n) for n in range(40)]

    async def count(envelope: Envelope, uow: UnitOfWork) -> None:
        counter = await uow.tx.get("counters", "c") or {"id": "c", "seen": []}
        await uow.tx.put("counters", {**counter, "seen": [*counter["seen"], envelope.id]})

    async with runtime_factory("svc") as a, runtime_factory("svc") as b:
        await _backlog(a, *events)
        a.consume(SPEC, count)
        b.consume(SPEC, count)

        async def counted() -> list[str]:
            counter = await a.store.get("counters", "c")
            return counter["seen"] if counter and len(counter["seen"]) >= len(events) else []

        await eventually(counted, within=30)
        await eventually(lambda: _all_acked(a, len(events)))
        counter = await a.store.get("counters", "c")
    assert counter is not None
    assert sorted(counter["seen"]) == sorted(e.id for e in events)


async def test_an_event_whose_effect_outlasts_the_ack_wait_stays_with_its_consumer(
    runtime: Runtime,
) -> None:
    """While the effect runs the consumer tells the server, every third of the ack wait, that
    it is still at work: another puller on the durable is not sent the event meanwhile."""
    spec = ConsumerSpec("CASES", "test-slow", "case.report.linked.v1", ack_wait_s=1)
    started, release = asyncio.Event(), asyncio.Event()

    async def effect(_envelope: Envelope, _uow: UnitOfWork) -> None:
        started.set()
        await release.wait()

    runtime.consume(spec, effect)
    await runtime.bus.publish(linked(1))
    async with asyncio.timeout(5):
        await started.wait()
    other = await runtime.bus.js.pull_subscribe_bind(spec.durable, stream=spec.stream)
    with pytest.raises(nats.errors.TimeoutError):
        await other.fetch(1, timeout=3 * spec.ack_wait_s)  # redelivered by now, were it not
    release.set()

    async def acked() -> bool:
        info = await runtime.bus.js.consumer_info(spec.stream, spec.durable)
        return bool(info.num_ack_pending == 0 and info.num_redelivered == 0)

    await eventually(acked)
