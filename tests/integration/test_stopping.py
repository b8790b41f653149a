"""The runtime's own loops stop at once when they are woken in the very step they are stopped:
the outbox relay (a commit hands it rows) and the timer clock (a commit arms a sooner timer).
With Python 3.11's `wait_for` in their waits the cancel was lost there and a service's
shutdown hung (the relay waited on; now `shared.tasks.stop` would send the cancel again, but
only after seconds)."""

from __future__ import annotations

import asyncio
import math
from functools import partial

from shared.outbox import OutboxRelay
from shared.runtime import Runtime
from shared.tasks import RECANCEL_S
from shared.timers import TimerClock
from tests.integration.test_timers import timer
from tests.support import eventually

# Well under RECANCEL_S: a stop that took the second cancel fails here.
PROMPT_S = 1.0
assert PROMPT_S < RECANCEL_S


async def test_the_relay_stops_at_once_when_woken_as_it_is_stopped(runtime: Runtime) -> None:
    for steps in range(4):  # however far its wait had got
        relay = OutboxRelay(store=runtime.store, bus=runtime.bus, poll_s=3600, sweep_s=3600)
        relay.start()
        for _ in range(steps + 1):
            await asyncio.sleep(0)  # loop steps, not time: the relay reaches its wait
        relay.notify()
        async with asyncio.timeout(PROMPT_S):
            await relay.stop()
        assert not relay.running


async def test_the_timer_clock_stops_at_once_when_woken_as_it_is_stopped(
    runtime: Runtime,
) -> None:
    async def fire_due(_now: float) -> int:
        return 0

    for steps in range(4):
        clock = TimerClock(store=runtime.store, fire_due=fire_due, max_wait_s=3600)
        clock.start()
        assert await eventually(partial(_waiting, clock))  # its first look is done
        for _ in range(steps):
            await asyncio.sleep(0)
        clock.armed([timer(f"soon{steps}", in_s=1)])  # sooner than planned: wakes it
        async with asyncio.timeout(PROMPT_S):
            await clock.stop()
        assert not clock.running


async def _waiting(clock: TimerClock) -> bool:
    return clock.planned < math.inf
