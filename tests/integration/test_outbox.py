"""The outbox: events committed with the state change reach JetStream, even after a crash."""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator

import pytest

from deploy.launcher import Platform
from shared.bus import Bus
from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.nats_auth import ADMIN
from shared.outbox import COLLECTION, OutboxRelay, add_to_outbox
from shared.runtime import Runtime, UnitOfWork
from shared.store import open_store
from tests.integration.conftest import commit
from tests.support import StoreUrl, eventually, every_store

__all__ = ["every_store"]  # every test here runs on SQLite and on PostgreSQL


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(
        data, source="case_tracking", subject=f"rep-{n}", correlation_id=f"rep-{n}"
    )


async def messages(rt: Runtime, stream: str = "CASES") -> int:
    return (await rt.bus.js.stream_info(stream)).state.messages


async def test_a_committed_unit_of_work_is_published(runtime: Runtime) -> None:
    async def work(uow: UnitOfWork) -> None:
        await uow.tx.put("things", {"id": "t"})
        uow.emit(linked(1), linked(2))

    await runtime.transact(work)
    assert await eventually(lambda: _count_is(runtime, 2))
    assert await eventually(lambda: _empty(runtime))  # relayed entries leave the outbox


async def _count_is(rt: Runtime, n: int) -> bool:
    return await messages(rt) == n


async def _relay_published(rt: Runtime, n: int) -> bool:
    return rt.relay.published_unswept == n


async def _empty(rt: Runtime) -> bool:
    return await rt.store.find(COLLECTION) == []


async def test_a_rolled_back_unit_of_work_publishes_nothing(runtime: Runtime) -> None:
    async def failing(uow: UnitOfWork) -> None:
        await uow.tx.put("things", {"id": "t"})
        uow.emit(linked(1))
        raise RuntimeError("validation failed late")

    with pytest.raises(RuntimeError, match="late"):
        await runtime.transact(failing)
    assert await runtime.store.find(COLLECTION) == []
    assert await runtime.store.get("things", "t") is None
    assert await messages(runtime) == 0


async def test_events_committed_before_a_crash_are_published_on_restart(
    nats_url: str, store_url: StoreUrl, runtime: Runtime, nats_server: Platform
) -> None:
    """A process that committed but died before publishing: the next relay publishes."""
    path = await store_url("crashed")
    crashed = await open_store(path)
    async with crashed.transaction() as tx:
        await tx.put("things", {"id": "t"})
        await add_to_outbox(tx, linked(1), linked(2), linked(3))
    await crashed.close()  # the "crash": nothing was relayed

    restarted = await open_store(path)
    bus = Bus(url=nats_url, name="restarted", **nats_server.credentials(ADMIN))
    await bus.connect()
    relay = OutboxRelay(store=restarted, bus=bus)
    try:
        assert await relay.drain() == 3
        assert await restarted.find(COLLECTION) == []
        assert await messages(runtime) == 3
    finally:
        await bus.close()
        await restarted.close()


async def test_a_relay_that_publishes_twice_stores_each_event_once(runtime: Runtime) -> None:
    """Crash after publish but before the outbox row is deleted: JetStream drops the repeat."""
    event = linked(1)
    await runtime.bus.publish(event)
    async with runtime.store.transaction() as tx:
        await add_to_outbox(tx, event)
    # Written without a hand-over, the row is relayed once it outlives the grace (3 s).
    assert await eventually(lambda: _empty(runtime), within=10)
    assert await messages(runtime) == 1


async def test_the_relay_publishes_the_bytes_and_headers_of_the_committed_envelope(
    runtime: Runtime,
) -> None:
    """The outbox keeps an event as the bytes to publish: what reaches JetStream is exactly
    `model_dump_json` of the envelope that was committed (non-ASCII text included; PostgreSQL's
    JSONB used to reorder the keys of `data`), with its id and trace in the headers."""
    event = Envelope.wrap(
        ReportLinked(report_id="rep-ü-1", case_id="case-\u5a03"),
        source="case_tracking",
        subject="rep-ü-1",
        correlation_id="rep-1",
        traceparent="00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
    )
    await commit(runtime, event)
    assert await eventually(lambda: _count_is(runtime, 1))
    sent = await runtime.bus.js.get_msg("CASES", 1)
    assert sent.data == event.model_dump_json().encode()
    assert Envelope.model_validate_json(sent.data or b"") == event
    assert sent.headers is not None
    assert sent.headers["Nats-Msg-Id"] == event.id
    assert sent.headers["traceparent"] == event.traceparent


async def test_an_entry_left_by_the_previous_outbox_format_is_still_relayed(
    runtime: Runtime,
) -> None:
    """Rows written before the outbox kept bytes (the envelope as a document) are published
    after an upgrade."""
    event = linked(7)
    async with runtime.store.transaction() as tx:
        old_row = {"id": event.id, "seq": 1, "envelope": event.model_dump(mode="json")}
        await tx.insert(COLLECTION, old_row)
    runtime.relay.notify()
    assert await eventually(lambda: _count_is(runtime, 1))
    sent = await runtime.bus.js.get_msg("CASES", 1)
    assert Envelope.model_validate_json(sent.data or b"") == event
    assert await eventually(lambda: _empty(runtime))


@pytest.fixture
async def slow_sweep(runtime: Runtime) -> AsyncIterator[Runtime]:
    """The runtime with a relay that never deletes on its own: only the service's next
    transaction does."""
    await runtime.relay.stop()
    relay = OutboxRelay(store=runtime.store, bus=runtime.bus, sweep_s=3600, poll_s=3600)
    relay.start()
    try:
        yield dataclasses.replace(runtime, relay=relay)
    finally:
        await relay.stop()


async def test_a_published_row_is_deleted_by_the_next_commit(slow_sweep: Runtime) -> None:
    """One commit per unit of work: what it announced is published from memory, and the row is
    deleted with whatever the service commits next, not in a commit of the relay's own."""
    await commit(slow_sweep, linked(1))
    # The stream can count the message before the relay has its ack: wait for the relay's word.
    assert await eventually(lambda: _relay_published(slow_sweep, 1))
    assert await messages(slow_sweep) == 1
    assert len(await slow_sweep.store.find(COLLECTION)) == 1  # published, not yet deleted

    async def nothing(uow: UnitOfWork) -> None:
        await uow.tx.put("things", {"id": "t"})

    await slow_sweep.transact(nothing)
    assert await slow_sweep.store.find(COLLECTION) == []


async def test_a_rolled_back_transaction_leaves_published_rows_to_the_next(
    slow_sweep: Runtime,
) -> None:
    await commit(slow_sweep, linked(1), linked(2))
    assert await eventually(lambda: _relay_published(slow_sweep, 2))

    async def failing(uow: UnitOfWork) -> None:
        await uow.tx.put("things", {"id": "t"})
        raise RuntimeError("refused late")

    with pytest.raises(RuntimeError, match="late"):
        await slow_sweep.transact(failing)
    assert len(await slow_sweep.store.find(COLLECTION)) == 2
    third = linked(3)
    await commit(slow_sweep, third)
    rows = await slow_sweep.store.find(COLLECTION)
    assert [row["id"] for row in rows] == [third.id]  # only the new one is left
    assert await eventually(lambda: _count_is(slow_sweep, 3))


async def test_the_relay_deletes_alone_when_no_transaction_comes(runtime: Runtime) -> None:
    await commit(runtime, linked(1))
    assert await eventually(lambda: _count_is(runtime, 1))
    assert await eventually(lambda: _empty(runtime))  # within SWEEP_S of the publish


async def test_a_young_row_another_process_wrote_is_left_to_it_then_relayed(
    runtime: Runtime,
) -> None:
    """The scan skips rows younger than the grace (another replica on the same database has
    them in memory and publishes them itself); one that outlives it (that replica died) goes."""
    await runtime.relay.stop()
    relay = OutboxRelay(store=runtime.store, bus=runtime.bus, poll_s=0.05, grace_s=1.0)
    async with runtime.store.transaction() as tx:
        await add_to_outbox(tx, linked(1))
    started = time.monotonic()
    relay.start()
    try:
        assert await eventually(lambda: _count_is(runtime, 1))
        assert time.monotonic() - started >= 0.9
    finally:
        await relay.stop()
