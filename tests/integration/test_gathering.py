"""A consumer with a gathering window (ConsumerSpec.gather_s; gather_busy_s while busy) on a
real NATS server: what arrives within the window after an event is handled with it in one
transaction, and a consumer stopped during the window gives what it holds back at once."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from nats.js.api import ConsumerInfo

from shared import consumer
from shared.events import Envelope
from shared.runtime import Runtime, UnitOfWork
from shared.streams import (
    CASE_TRACKING_SCHOOL,
    CASE_TRACKING_TIMERS,
    CONSUMERS,
    SCHOOL_LIAISON_VIDEO_CONCERNS,
    ConsumerSpec,
)
from tests.integration.conftest import RuntimeFactory
from tests.integration.test_bus import linked
from tests.support import eventually

# Long, so that the test's own steps fit in it on a slow machine; a long ack wait, so that
# "given back at once" cannot be the ack timeout.
GATHERING = ConsumerSpec(
    "CASES", "test-gathering", "case.report.linked.v1", ack_wait_s=30, gather_s=3.0
)


async def _info(rt: Runtime) -> ConsumerInfo | None:
    try:
        info: ConsumerInfo = await rt.bus.js.consumer_info("CASES", GATHERING.durable)
    except Exception:
        return None  # its pull loop has not declared it yet
    return info


async def _delivered(rt: Runtime, n: int) -> bool:
    info = await _info(rt)
    return info is not None and info.delivered is not None and info.delivered.consumer_seq >= n


async def test_events_arriving_within_the_window_join_the_first_in_one_transaction(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Batching is what is tested, not this machine's speed: a loaded one may answer slowly.
    monkeypatch.setattr(consumer, "BURST_WAIT_S", 10.0)
    first, *rest = [linked(n) for n in range(6)]
    units: list[UnitOfWork] = []
    applied: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if all(u is not uow for u in units):
            units.append(uow)
        applied.append(envelope.id)
        await uow.tx.insert("effects", {"id": envelope.id})

    runtime.consume(GATHERING, effect)
    await runtime.bus.publish(first)
    # The first is in the consumer's hands before the others exist: without the window it
    # would be committed alone.
    await eventually(lambda: _delivered(runtime, 1))
    for event in rest:
        await runtime.bus.publish(event)

    async def all_committed() -> bool:
        return len(await runtime.store.find("effects")) == 6

    await eventually(all_committed, within=15)
    assert sorted(applied) == sorted(e.id for e in [first, *rest])
    assert len(units) == 1


async def test_a_consumer_stopped_during_its_window_gives_the_event_back_at_once(
    runtime: Runtime, runtime_factory: RuntimeFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    held: list[str] = []
    # Stopped inside the window, not while the pull that brings the event is still returning.
    in_window = asyncio.Event()
    gathered = consumer.PullConsumer._gathered

    async def entering(
        self: consumer.PullConsumer, sub: Any, *, room: int, window_s: float
    ) -> list[Any]:
        in_window.set()
        return await gathered(self, sub, room=room, window_s=window_s)

    monkeypatch.setattr(consumer.PullConsumer, "_gathered", entering)

    async def effect(envelope: Envelope, _uow: UnitOfWork) -> None:
        held.append(envelope.id)

    runtime.consume(GATHERING, effect)
    event = linked(1)
    await runtime.bus.publish(event)
    async with asyncio.timeout(10):
        await in_window.wait()
    await runtime.bus.stop_consumers()
    assert held == []

    async with runtime_factory("replica") as replica:
        applied: list[str] = []

        async def effect_2(envelope: Envelope, _uow: UnitOfWork) -> None:
            applied.append(envelope.id)

        replica.consume(GATHERING, effect_2)

        async def taken_over() -> bool:
            return applied == [event.id]

        # Well inside the 30 s ack wait: it was given back, not left to time out.
        await eventually(taken_over, within=10)


async def test_work_someone_waits_on_is_gathered_while_events_come_fast(runtime: Runtime) -> None:
    """The intake's busy window (shared/pace.py; when it counts as busy: unit tests), with a
    threshold any event reaches: events sent one after another, each stored before the next,
    wait out the window together and are one transaction, not one each as they come."""
    spec = ConsumerSpec(
        "CASES",
        "test-busy",
        "case.report.linked.v1",
        gather_busy_s=1.0,  # longer than the five publishes take on a loaded machine
        busy_per_s=1.0,
    )
    units: list[UnitOfWork] = []
    handled: list[str] = []

    async def effect(envelope: Envelope, uow: UnitOfWork) -> None:
        if not units or units[-1] is not uow:
            units.append(uow)
        handled.append(envelope.id)

    runtime.consume(spec, effect)
    events = [linked(n) for n in range(5)]
    for event in events:
        await runtime.bus.publish(event)

    async def all_handled() -> bool:
        return len(handled) == len(events)

    await eventually(all_handled)
    assert handled == [e.id for e in events]
    assert len(units) == 1


def test_what_turns_a_report_into_tasks_or_escalates_them_gathers_nothing() -> None:
    urgent = (CASE_TRACKING_SCHOOL, CASE_TRACKING_TIMERS, SCHOOL_LIAISON_VIDEO_CONCERNS)
    assert all(spec.gather_s == 0 for spec in urgent)
    # Only the intake waits, and only while busy: far above the 201 → tasks target's 50 a
    # second, and for a small share of its 15 ms.
    assert [s for s in CONSUMERS if s.gather_busy_s] == [CASE_TRACKING_SCHOOL]
    assert CASE_TRACKING_SCHOOL.busy_per_s >= 100
    assert CASE_TRACKING_SCHOOL.gather_busy_s <= 0.02
    # Everything else waits at most a quarter of a second, far inside its ack wait.
    assert all(0 <= spec.gather_s <= 0.25 < spec.ack_wait_s / 3 for spec in CONSUMERS)
