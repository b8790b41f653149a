"""Durable timers kept in the service's own store and fired by the service itself.

A timer is an event published later. `UnitOfWork.schedule` writes it, in the transaction that
decides it, as a row of the `timers` collection keyed by the timer's key (a new timer on the
same key replaces it: that is how a moved deadline re-arms rather than adds). Each process that
fires timers runs a `TimerClock`: it sleeps until the earliest due time (woken early by a
commit of this process that armed a sooner one, and at most `MAX_WAIT_S` for timers armed by
another replica), then, in one transaction, deletes the due rows and writes their envelopes
into the outbox, which publishes them on their own subjects (under `timer.>`, the TIMERS
stream). From there a fired timer is consumed like any other event: idempotently, once however
many replicas run. Two replicas firing the same row race in serializable transactions; the
loser runs again and finds it gone.

Why not a JetStream message schedule per timer (what this replaced, issue 15): every armed
timer was a stored message and a subject of its own in nats-server (~0.9 KiB of RSS until it
fired) and two of a report's seven messages. Here arming is one row in a commit the task makes
anyway, and nothing reaches NATS until the timer fires.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Sequence
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

from shared.events import Envelope
from shared.store import Range, Reader, Store, Writer
from shared.store.migrations import Migration
from shared.tasks import stop

log = logging.getLogger("hulei.timers")
COLLECTION = "timers"
BATCH = 200  # timers fired per transaction
MAX_WAIT_S = 1.0  # the latest a timer armed by another replica (or left by a dead one) fires
RETRY_S = 1.0  # after a failed pass (the store is away)
LATE_S = 60.0  # a timer this far past due, unfired, means no clock runs (metric timers_late)


@dataclass(frozen=True)
class Timer:
    envelope: Envelope  # published on its own subject (under timer.>) when due
    key: str  # one timer per key: a new one replaces it
    at: datetime

    def row(self) -> dict[str, object]:
        return {"id": self.key, "due": self.at.timestamp(), "json": self.envelope.model_dump_json()}


async def _by_due_v1(store: Store) -> None:
    await store.ensure_index(COLLECTION, ["due"])  # the clock reads the earliest first


MIGRATIONS = [Migration(1, "timers in due order", _by_due_v1)]


async def arm(tx: Writer, timers: Sequence[Timer]) -> None:
    """Write (or replace) the timers with the transaction."""
    for timer in timers:
        await tx.put(COLLECTION, timer.row())


async def take_due(tx: Writer, *, now: float, limit: int = BATCH) -> list[Envelope]:
    """Delete up to `limit` timers due by `now` (earliest first) and return their envelopes,
    for the caller to emit in the same transaction."""
    rows = await tx.find(COLLECTION, where={"due": Range(lte=now)}, order_by="due", limit=limit)
    for row in rows:
        await tx.delete(COLLECTION, row["id"])
    return [Envelope.model_validate_json(row["json"]) for row in rows]


async def late(port: Reader, *, now: float) -> int:
    """Timers more than `LATE_S` past their due time: a clock should have fired them."""
    return await port.count(COLLECTION, where={"due": Range(lt=now - LATE_S)})


async def next_due(port: Reader) -> float | None:
    rows = await port.find(COLLECTION, order_by="due", limit=1)
    return float(rows[0]["due"]) if rows else None


# Fires the due timers in one transaction (the runtime's, so that their envelopes go through
# the outbox) and returns how many it fired.
FireDue = Callable[[float], Awaitable[int]]


class TimerClock:
    """Fires this store's timers when they fall due (see the module's docstring)."""

    def __init__(self, *, store: Store, fire_due: FireDue, max_wait_s: float = MAX_WAIT_S) -> None:
        self._store = store
        self._fire_due = fire_due
        self._max_wait_s = max_wait_s
        self._wake = asyncio.Event()
        self._planned = math.inf  # when the loop looks next (wall clock)
        # While the loop looks: the soonest timer committed meanwhile, which its read of the
        # earliest due time may have missed (the wait that follows is cut to it).
        self._looking = False
        self._armed_meanwhile = math.inf
        self.looks = 0  # how often it read the earliest due time
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="timer-clock")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def planned(self) -> float:
        """When the clock looks next (wall clock)."""
        return self._planned

    def armed(self, timers: Sequence[Timer]) -> None:
        """Timers this process committed: look sooner if one is due before the planned look.
        Nearly all are due minutes or days away and change nothing."""
        if not timers:
            return
        soonest = min(t.at.timestamp() for t in timers)
        if self._looking:
            self._armed_meanwhile = min(self._armed_meanwhile, soonest)
        elif soonest < self._planned:
            self._wake.set()

    async def _run(self) -> None:
        while True:
            self._wake.clear()
            self._looking, self._armed_meanwhile = True, math.inf
            try:
                wait = await self._look()
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("firing timers failed, will retry: %r", exc)
                wait = RETRY_S
            self._looking = False
            now = time.time()
            wait = min(wait, max(self._armed_meanwhile - now, 0.0))
            self._planned = now + wait
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def _look(self) -> float:
        """Fire what is due, if anything (a read first: no write transaction when nothing
        is); the seconds until the next look."""
        self.looks += 1
        while (due := await next_due(self._store)) is not None and due <= (now := time.time()):
            await self._fire_due(now)
        if due is None:
            return self._max_wait_s
        return min(max(due - time.time(), 0.0), self._max_wait_s)

    async def stop(self) -> None:
        if self._task is not None:
            await stop(self._task)
