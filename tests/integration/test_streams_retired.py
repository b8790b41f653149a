"""Retired durables (shared/streams.RETIRED) on a real NATS server: the declare command deletes
them, and their successor starts where the slowest of them had got to, so nothing they had not
processed is skipped and the history before it is not handed over again."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime

import pytest
from nats.js.api import DeliverPolicy
from nats.js.errors import NotFoundError

from deploy.launcher import Platform
from deploy.streams import declare
from shared.bus import Bus
from shared.contracts.cases import CaseClosed, ReportLinked
from shared.events import Envelope
from shared.handover import LAST_SEQ
from shared.nats_auth import ADMIN
from shared.processed import PROCESSED
from shared.runtime import Runtime, UnitOfWork
from shared.streams import (
    NOTIFICATIONS_CASES,
    RETIRED,
    SCHOOL_LIAISON_CASES,
    ConsumerSpec,
    consumer_config,
)
from tests.support import eventually

# Two of the durables notifications had on CASES before they were folded into one.
OLD_TASKS = ConsumerSpec("CASES", "notifications-tasks", "task.>")
OLD_WEBHOOKS = ConsumerSpec(
    "CASES", "notifications-webhooks-cases", "case.>", more_subjects=("task.>",)
)


# school_liaison's two durables on CASES before session 7 folded them into SCHOOL_LIAISON_CASES.
OLD_LINKS = ConsumerSpec("CASES", "school_liaison-links", "case.report.linked.v1")
OLD_CLOSURES = ConsumerSpec("CASES", "school_liaison-closures", "case.closed.v1")


def closed(n: int) -> Envelope:
    data = CaseClosed(case_id=f"case-{n}", child_ref=f"child-{n}", closed_at=datetime.now(UTC))
    return Envelope.wrap(data, source="case_tracking", subject=f"case-{n}", correlation_id="t")


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(data, source="case_tracking", subject=f"rep-{n}", correlation_id="t")


@pytest.fixture
async def bus(nats_server: Platform) -> AsyncIterator[Bus]:
    """As `admin`, with the streams and the old durables as a deployment before had them."""
    bus = Bus(url=nats_server.nats_url, name="test-admin", **nats_server.credentials(ADMIN))
    await bus.connect()
    await bus.ensure_streams()
    await bus.ensure_consumers([OLD_TASKS, OLD_WEBHOOKS])
    yield bus
    await bus.close()


async def take(bus: Bus, spec: ConsumerSpec, n: int, *, ack: bool = True) -> list[int]:
    """Fetch `n` messages of a durable; their stream sequences."""
    sub = await bus.js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)
    msgs = await sub.fetch(n, timeout=5)
    for msg in msgs:
        if ack:
            await msg.ack_sync()
    await sub.unsubscribe()
    return [msg.metadata.sequence.stream for msg in msgs]


async def gone(bus: Bus, spec: ConsumerSpec) -> bool:
    try:
        await bus.js.consumer_info(spec.stream, spec.durable)
    except NotFoundError:
        return True
    return False


async def redeclare(nats_server: Platform) -> list[str]:
    return await declare(nats_server.nats_url, 1, **nats_server.credentials(ADMIN))


async def test_retired_durables_are_deleted_and_their_successor_skips_and_repeats_nothing(
    nats_server: Platform, bus: Bus
) -> None:
    for n in range(1, 7):
        await bus.publish(linked(n))  # case.report.linked: the webhooks durable's only
    assert await take(bus, OLD_WEBHOOKS, 4) == [1, 2, 3, 4]  # 5 and 6 not yet processed

    deleted = await redeclare(nats_server)

    assert set(deleted) == {OLD_TASKS.durable, OLD_WEBHOOKS.durable}
    assert await gone(bus, OLD_TASKS)
    assert await gone(bus, OLD_WEBHOOKS)
    info = await bus.js.consumer_info("CASES", NOTIFICATIONS_CASES.durable)
    assert info.config.deliver_policy == DeliverPolicy.BY_START_SEQUENCE
    assert info.config.filter_subjects == list(NOTIFICATIONS_CASES.subjects)
    await bus.publish(linked(7))
    # What the slowest had not processed, and what came after; not 1-4 again.
    assert await take(bus, NOTIFICATIONS_CASES, 10) == [5, 6, 7]

    # Declared again (the next deployment): nothing to delete, the successor keeps its place.
    assert await redeclare(nats_server) == []
    await bus.publish(linked(8))
    assert await take(bus, NOTIFICATIONS_CASES, 10) == [8]


async def test_a_message_in_flight_on_a_retired_durable_is_delivered_again(
    nats_server: Platform, bus: Bus
) -> None:
    for n in range(1, 5):
        await bus.publish(linked(n))
    assert await take(bus, OLD_WEBHOOKS, 2) == [1, 2]
    assert await take(bus, OLD_WEBHOOKS, 1, ack=False) == [3]  # its process died holding it

    await redeclare(nats_server)

    assert await take(bus, NOTIFICATIONS_CASES, 10) == [3, 4]


async def test_a_caught_up_retired_durable_hands_over_at_the_stream_end(
    nats_server: Platform, bus: Bus
) -> None:
    for n in range(1, 4):
        await bus.publish(linked(n))
    assert await take(bus, OLD_WEBHOOKS, 3) == [1, 2, 3]  # OLD_TASKS: nothing of its subjects

    await redeclare(nats_server)
    await bus.publish(linked(4))

    assert await take(bus, NOTIFICATIONS_CASES, 10) == [4]


async def test_a_fresh_deployment_starts_every_durable_at_the_beginning(
    nats_server: Platform,
) -> None:
    assert await redeclare(nats_server) == []  # no retired durable was there
    bus = Bus(url=nats_server.nats_url, name="check", **nats_server.credentials(ADMIN))
    await bus.connect()
    try:
        info = await bus.js.consumer_info("CASES", NOTIFICATIONS_CASES.durable)
        assert info.config.deliver_policy == consumer_config(NOTIFICATIONS_CASES).deliver_policy
        assert {r.durable for r in RETIRED}.isdisjoint(
            c.name for c in await bus.js.consumers_info("CASES")
        )
    finally:
        await bus.close()


async def test_a_merged_successor_applies_what_neither_retired_durable_had_and_nothing_twice(
    nats_server: Platform,
    bus: Bus,
    runtime_factory: Callable[..., AbstractAsyncContextManager[Runtime]],
) -> None:
    """school_liaison's links durable was ahead, its closures durable behind: the merged one
    starts where the closures had got to, and skips what the links had processed (their marks
    are in school_liaison's store), over that stretch of the stream only."""
    await bus.ensure_consumers([OLD_LINKS, OLD_CLOSURES])
    events = [linked(1), linked(2), closed(3), linked(4)]
    for event in events:
        await bus.publish(event)
    assert await take(bus, OLD_LINKS, 3) == [1, 2, 4]  # the closures durable: nothing yet
    async with runtime_factory("school_liaison") as rt:
        async with rt.store.transaction() as tx:  # what the links' effects had committed
            for event in (events[0], events[1], events[3]):
                mark = f"{OLD_LINKS.durable}:{event.id}"
                await tx.insert(PROCESSED, {"id": mark, "at": event.time.isoformat()})

        deleted = await redeclare(nats_server)

        assert {OLD_LINKS.durable, OLD_CLOSURES.durable} <= set(deleted)
        info = await bus.js.consumer_info("CASES", SCHOOL_LIAISON_CASES.durable)
        assert info.config.opt_start_seq == 1  # where the closures durable had got to
        assert (info.config.metadata or {}).get(LAST_SEQ) == "4"  # the links may have had 4
        applied: list[str] = []

        async def effect(envelope: Envelope, uow: UnitOfWork) -> None:  # noqa: ARG001
            applied.append(envelope.id)

        rt.consume(SCHOOL_LIAISON_CASES, effect)
        later = linked(5)
        await bus.publish(later)

        async def both() -> list[str]:
            return applied if len(applied) >= 2 else []

        assert await eventually(both) == [events[2].id, later.id]
        # A dead letter of another process replayed: an old event, past the stretch.
        old = events[1]
        replay = {"Nats-Msg-Id": "replay:1"}
        await bus.js.publish(old.nats_subject, old.model_dump_json().encode(), headers=replay)

        async def settled() -> bool:
            info = await bus.js.consumer_info("CASES", SCHOOL_LIAISON_CASES.durable)
            return info.ack_floor.stream_seq >= 6 and not info.num_ack_pending

        await eventually(settled)
        assert applied == [events[2].id, later.id]
        assert await redeclare(nats_server) == []  # settled: declared again, nothing changes
        info = await bus.js.consumer_info("CASES", SCHOOL_LIAISON_CASES.durable)
        assert (info.config.metadata or {}).get(LAST_SEQ) == "4"
