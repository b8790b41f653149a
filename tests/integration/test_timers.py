"""Durable timers kept in the store (shared/timers.py): armed with a commit, fired by the
service's clock when due (not before), once, on every store."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta

import nats.js.errors

from shared.contracts.cases import TaskTimerDue, TimerStep
from shared.events import Envelope
from shared.runtime import Runtime
from shared.timers import BATCH, COLLECTION, Timer, TimerClock
from tests.integration.conftest import RuntimeFactory, commit
from tests.support import eventually, every_store

__all__ = ["every_store"]  # every test here runs on SQLite and on PostgreSQL

SUBJECT = "timer.task.due.v1"


def timer(key: str, *, in_s: float) -> Timer:
    at = datetime.now(UTC) + timedelta(seconds=in_s)
    data = TaskTimerDue(task_id=key, step=TimerStep.desk, at=at)
    envelope = Envelope.wrap(data, source="case_tracking", subject=key, correlation_id=key)
    return Timer(envelope=envelope, key=f"task.{key}.desk", at=at)


async def arm(rt: Runtime, *timers: Timer) -> None:
    await commit(rt, timers=timers)


async def fired(rt: Runtime) -> list[nats.js.api.RawStreamMsg]:
    """The fired timers in the TIMERS stream, oldest first."""
    info = await rt.bus.js.stream_info("TIMERS")
    found = []
    for seq in range(info.state.first_seq, info.state.last_seq + 1) if info.state.messages else ():
        try:
            found.append(await rt.bus.js.get_msg("TIMERS", seq))
        except nats.js.errors.NotFoundError:
            continue
    return found


def published(rt: Runtime) -> float:
    sample = rt.metrics.registry.get_sample_value(
        "hulei_events_published_total", {"service": rt.name, "type": TaskTimerDue.TYPE}
    )
    return sample or 0.0


async def test_a_timer_fires_when_due_not_before_and_leaves_the_store(runtime: Runtime) -> None:
    runtime.fire_timers()
    due = timer("t1", in_s=1.0)
    await arm(runtime, due)
    assert await fired(runtime) == []
    (msg,) = await eventually(lambda: fired(runtime))
    assert msg.subject == SUBJECT
    assert msg.time is not None
    assert msg.time >= due.at
    assert Envelope.model_validate_json(msg.data or b"").id == due.envelope.id
    assert await eventually(lambda: _no_timers(runtime))


async def _no_timers(rt: Runtime) -> bool:
    return await rt.store.count(COLLECTION) == 0


async def test_arming_a_key_again_replaces_its_timer(runtime: Runtime) -> None:
    runtime.fire_timers()
    first, moved = timer("t2", in_s=0.3), timer("t2", in_s=0.8)
    await arm(runtime, first)
    await arm(runtime, moved)
    (msg,) = await eventually(lambda: fired(runtime))
    assert Envelope.model_validate_json(msg.data or b"").id == moved.envelope.id
    assert msg.time is not None
    assert msg.time >= moved.at
    assert published(runtime) == 1


async def test_timers_due_while_no_clock_ran_fire_when_one_starts(runtime: Runtime) -> None:
    """A process that was down: what fell due meanwhile fires at once, more than a batch."""
    many = [timer(f"d{n}", in_s=-60 + n / 1000) for n in range(BATCH + 50)]
    await arm(runtime, *many)
    assert await runtime.store.count(COLLECTION) == len(many)
    runtime.fire_timers()
    assert await eventually(lambda: _fired_count(runtime, len(many)), within=15)
    assert await runtime.store.count(COLLECTION) == 0


async def _fired_count(rt: Runtime, n: int) -> bool:
    return (await rt.bus.js.stream_info("TIMERS")).state.messages == n


async def test_a_sooner_timer_armed_here_wakes_the_clock(runtime: Runtime) -> None:
    """The clock sleeps until its earliest timer (here: a minute off); arming a sooner one in
    this process wakes it, so it fires on time rather than at the minute."""
    runtime.fire_timers(max_wait_s=60.0)
    await arm(runtime, timer("late", in_s=60))
    assert await eventually(lambda: _planned_later(runtime))
    soon = timer("soon", in_s=0.2)
    await arm(runtime, soon)
    (msg,) = await eventually(lambda: fired(runtime), within=30)
    assert Envelope.model_validate_json(msg.data or b"").id == soon.envelope.id
    # Stored by the server within seconds of its due time, not at the clock's planned minute.
    assert msg.time is not None
    assert msg.time - soon.at < timedelta(seconds=5)


async def _planned_later(rt: Runtime) -> bool:
    assert rt.clock is not None
    return math.isfinite(rt.clock.planned) and rt.clock.planned > time.time() + 30


async def test_two_replicas_fire_each_timer_once(
    runtime_factory: RuntimeFactory, store_backend: str
) -> None:
    """Two processes on one store, both firing: every timer is published by one of them."""
    async with runtime_factory("svc") as one, runtime_factory("svc") as two:
        many = [timer(f"r{n}", in_s=0.5 + n / 500) for n in range(100)]
        await arm(one, *many[::2])
        await arm(two, *many[1::2])
        one.fire_timers()
        two.fire_timers()
        assert await eventually(lambda: _fired_count(one, len(many)), within=15)
        assert await eventually(lambda: _no_timers(one))
        assert published(one) + published(two) == len(many), store_backend


async def test_timers_left_unfired_show_in_the_metrics(runtime: Runtime) -> None:
    """No clock runs (case_tracking down, or its clock failing): what is a minute past due is
    counted, for the alert (deploy/k8s/base/monitoring/alerts.yaml); firing clears it."""
    await arm(runtime, timer("stuck", in_s=-120), timer("fresh", in_s=-1), timer("ahead", in_s=60))
    assert b'hulei_timers_late{service="svc"} 1.0' in await runtime.metrics.render()
    runtime.fire_timers()
    assert await eventually(lambda: _fired_count(runtime, 2))
    assert b'hulei_timers_late{service="svc"} 0.0' in await runtime.metrics.render()


async def test_the_clock_reads_but_writes_nothing_while_nothing_is_due(runtime: Runtime) -> None:
    """A look is a read of the earliest due time; the firing transaction (a write, which
    would contend with the service's own) runs only when something is due."""
    fired_at: list[float] = []

    async def fire_due(now: float) -> int:
        fired_at.append(now)
        return 0

    await arm(runtime, timer("far", in_s=3600))
    clock = TimerClock(store=runtime.store, fire_due=fire_due, max_wait_s=0.02)
    clock.start()
    try:
        assert await eventually(lambda: _looked(clock, 10))
    finally:
        await clock.stop()
    assert fired_at == []


async def _looked(clock: TimerClock, n: int) -> bool:
    return clock.looks >= n


async def test_arming_later_timers_does_not_wake_the_clock(runtime: Runtime) -> None:
    """Nearly every timer is armed minutes or days ahead of the clock's next look: a busy
    service's commits must not make it look again each time."""
    runtime.fire_timers(max_wait_s=60.0)
    assert await eventually(lambda: _planned_later(runtime))
    assert runtime.clock is not None
    looks = runtime.clock.looks
    for n in range(50):
        await arm(runtime, timer(f"later{n}", in_s=3600))
    assert runtime.clock.looks == looks
