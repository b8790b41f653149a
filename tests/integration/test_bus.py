"""The JetStream bus on a real NATS server: de-duplication, acks, redelivery, dead letters."""

from __future__ import annotations

import asyncio

from nats.js.api import StreamInfo

from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import ConsumerSpec
from tests.support import eventually, every_store

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

    async def all_acked() -> bool:
        info = await runtime.bus.js.consumer_info("CASES", SPEC.durable)
        return bool(info.num_pending == 0 and info.num_ack_pending == 0)

    await eventually(all_acked)
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
