"""What every service builds in its lifespan: store, bus, outbox relay, idempotent consumers."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Protocol, TypeVar, cast

from shared.bus import Bus, bus_from_settings
from shared.carried import merged
from shared.commits import CommitGroups
from shared.delivery import Delivery, Outcome
from shared.events import Envelope, EventData
from shared.handover import Handover
from shared.metrics import Metrics
from shared.outbox import COLLECTION as OUTBOX
from shared.outbox import MIGRATIONS as OUTBOX_MIGRATIONS
from shared.outbox import OutboxRelay, Row, add_to_outbox, remove_from_outbox
from shared.processed import Marks
from shared.settings import BaseServiceSettings
from shared.store import ConflictError, Store, Writer, open_store
from shared.store.migrations import migrate
from shared.store.retry import transact
from shared.streams import ConsumerSpec
from shared.telemetry import current_traceparent, setup_tracing
from shared.timers import MAX_WAIT_S, Timer, TimerClock, arm, late, take_due
from shared.timers import MIGRATIONS as TIMER_MIGRATIONS

log = logging.getLogger("hulei.runtime")
R = TypeVar("R")


class Deferred(Protocol):
    """Writes gathered over a unit of work (e.g. counters folded over a batch of events),
    made once, just before it commits."""

    async def flush(self, tx: Writer) -> None: ...


D = TypeVar("D", bound=Deferred)


@dataclass
class UnitOfWork:
    """One store transaction plus the events it announces (written to the outbox with it)."""

    tx: Writer
    events: list[Envelope] = field(default_factory=list)
    timers: list[Timer] = field(default_factory=list)
    _deferred: dict[str, Deferred] = field(default_factory=dict)

    def deferred(self, key: str, make: Callable[[], D]) -> D:
        """The `key` buffer of this unit of work, made on first use: the effects of a batch
        of events (one unit of work) share it, and it is flushed once, before the commit."""
        if key not in self._deferred:
            self._deferred[key] = make()
        return cast(D, self._deferred[key])

    async def flush(self) -> None:
        """Write what was deferred (the runtime calls it before committing)."""
        for buffer in self._deferred.values():
            await buffer.flush(self.tx)
        self._deferred.clear()

    def emit(self, *envelopes: Envelope) -> None:
        self.events.extend(envelopes)

    def schedule(self, *timers: Timer) -> None:
        """Timers committed with this unit of work, fired by the service (shared/timers.py)."""
        self.timers.extend(timers)

    def announce(
        self, data: EventData, *, source: str, subject: str, correlation_id: str
    ) -> Envelope:
        """A new event started by this request, carrying the request's trace."""
        envelope = Envelope.wrap(
            data,
            source=source,
            subject=subject,
            correlation_id=correlation_id,
            traceparent=current_traceparent(),
        )
        self.emit(envelope)
        return envelope


async def _close(uow: UnitOfWork, published: list[str]) -> list[Row]:
    """The unit of work's last writes before its commit: what it deferred, its timers, its events
    into the outbox (consecutive carriers as one: shared/carried.py `merged`), and the deletion
    of outbox rows already published."""
    await uow.flush()
    await arm(uow.tx, uow.timers)
    await remove_from_outbox(uow.tx, published)
    return await add_to_outbox(uow.tx, *merged(uow.events))


EventEffect = Callable[[Envelope, UnitOfWork], Awaitable[None]]
Work = Callable[[UnitOfWork], Awaitable[R]]


class _EffectFailed(Exception):
    """The effect of the `index`-th event of a batch raised `error`."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(index, error)
        self.index = index
        self.error = error


async def _once(effect: EventEffect, delivery: Delivery, uow: UnitOfWork, marks: Marks) -> bool:
    """Apply `effect` unless the event was processed already; False for a duplicate."""
    if not marks.first(delivery):
        return False
    await effect(delivery.envelope, uow)
    return True


@dataclass
class Runtime:
    name: str
    settings: BaseServiceSettings
    store: Store
    bus: Bus
    relay: OutboxRelay
    metrics: Metrics
    clock: TimerClock | None = None
    _groups: CommitGroups[UnitOfWork] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self._groups = CommitGroups(self._transact_alone, committed=self._count_commit)

    def _count_commit(self, units: int) -> None:
        self.metrics.commits.inc()
        self.metrics.units_committed.inc(units)

    async def transact(self, work: Work[R]) -> R:
        """`work(uow)` in a unit of work, run again from the start when the transaction lost a
        race (bounded; then StoreUnavailableError). `work` must touch nothing but `uow`. Units
        of work that come together share a transaction (shared/commits.py), each with its own
        outcome, where the store's transactions wait (on SQLite inline, one is a step of the
        loop, and nothing comes during it)."""
        if self.store.transactions_wait:
            return await self._groups.transact(work)
        result = await self._transact_alone(work)
        self._count_commit(1)
        return result

    async def _transact_alone(self, work: Work[R]) -> R:
        published = self.relay.claim()
        written: list[tuple[list[Row], list[Timer]]] = []

        async def attempt(tx: Writer) -> R:
            uow = UnitOfWork(tx)
            result = await work(uow)
            written[:] = [(await _close(uow, published), uow.timers)]
            return result

        try:
            result = await transact(self.store, attempt)
        except BaseException:
            self.relay.release(published)
            raise
        self._committed(published, *written[0])
        return result

    def _committed(self, published: list[str], rows: list[Row], timers: Sequence[Timer]) -> None:
        self.relay.swept(published)
        if rows:
            self.relay.hand_over(rows)
        if timers and self.clock is not None:
            self.clock.armed(timers)

    def fire_timers(self, *, max_wait_s: float = MAX_WAIT_S) -> None:
        """Fire this store's timers when due (shared/timers.py): for a service that arms them.
        `max_wait_s`: the latest a timer another replica armed fires."""

        async def fire_due(now: float) -> int:
            async def work(uow: UnitOfWork) -> int:
                fired = await take_due(uow.tx, now=now)
                uow.emit(*fired)
                return len(fired)

            return await self.transact(work)

        if self.clock is None:
            self.clock = TimerClock(store=self.store, fire_due=fire_due, max_wait_s=max_wait_s)
            self.clock.start()

    def consume(self, spec: ConsumerSpec, effect: EventEffect) -> None:
        """Run `effect` for each event of `spec`, idempotently, a fetched batch per commit."""

        handover = Handover(spec)

        async def handle(deliveries: Sequence[Delivery]) -> list[Outcome]:
            await handover.refresh(self.bus.js)
            return await self._apply(spec, effect, deliveries, handover)

        self.bus.consume_batches(spec, handle)

    async def _apply(
        self,
        spec: ConsumerSpec,
        effect: EventEffect,
        batch: Sequence[Delivery],
        handover: Handover,
    ) -> list[Outcome]:
        """Every effect of `batch` in one transaction (one commit, one fsync), with one outcome
        per event: a failing event fails alone, the others are applied exactly once."""
        if not batch:
            return []

        async def work(uow: UnitOfWork) -> list[Outcome]:
            marks = await Marks.read(uow.tx, spec, batch, handover)
            outcomes: list[Outcome] = []
            for index, delivery in enumerate(batch):
                try:
                    with delivery.traced():
                        outcomes.append(await _once(effect, delivery, uow, marks))
                except ConflictError:
                    raise  # the whole batch lost a race: run it again from the start
                except Exception as exc:
                    raise _EffectFailed(index, exc) from exc
            # A mark another replica committed meanwhile fails this insert: the batch runs again
            # (a conflict) or one event at a time (a duplicate key), and then finds it.
            await marks.write(uow.tx)
            return outcomes

        try:
            return await self.transact(work)
        except _EffectFailed as failed:
            # Rolled back: the events before it are committed again without it, the failed one
            # alone is retried or dead-lettered (its own delivery count), the rest go on.
            head = await self._apply(spec, effect, batch[: failed.index], handover)
            tail = await self._apply(spec, effect, batch[failed.index + 1 :], handover)
            return [*head, failed.error, *tail]
        except Exception as exc:
            if len(batch) == 1:
                return [exc]
            # The commit itself failed (an outage; conflicts to the last attempt): smaller
            # transactions may get through, and each event keeps its own fate. Said here: when
            # they do, no event fails, and the outage would otherwise leave no trace.
            log.warning(
                "consumer %s: a batch of %d failed (%r); applying its events one at a time",
                spec.durable,
                len(batch),
                exc,
            )
            outcomes: list[Outcome] = []
            for delivery in batch:
                outcomes.extend(await self._apply(spec, effect, [delivery], handover))
            return outcomes

    async def ready(self) -> dict[str, bool]:
        try:
            async with asyncio.timeout(2.0):
                await self.store.ping()
            store_ok = True
        except Exception:
            store_ok = False
        return {
            "nats": self.bus.connected,
            "store": store_ok,
            "consumers": self.bus.consumers_running or not self.bus.has_consumers,
            "outbox_relay": self.relay.running,
            **({"timers": self.clock.running} if self.clock else {}),
        }


@asynccontextmanager
async def open_runtime(
    settings: BaseServiceSettings,
    *,
    name: str,
    store: Store | None = None,
    metrics: Metrics | None = None,
    declare: bool = False,
) -> AsyncIterator[Runtime]:
    setup_tracing(service=name, exporter=settings.otel_exporter)
    metrics = metrics or Metrics(name)
    store = store or await open_store(settings.store_url)
    try:
        await migrate(store, component="outbox", migrations=OUTBOX_MIGRATIONS)
        await migrate(store, component="timers", migrations=TIMER_MIGRATIONS)
    except BaseException:
        await store.close()
        raise
    bus = bus_from_settings(settings, name=name, metrics=metrics, declare=declare)
    await bus.connect()
    if declare:  # admin only (tests); services bind to streams and durables declared up front
        await bus.ensure_streams()
    relay = OutboxRelay(store=store, bus=bus)
    bus.on_reconnect(relay.notify)  # what piled up while NATS was away goes out at once
    relay.start()
    runtime = Runtime(
        name=name, settings=settings, store=store, bus=bus, relay=relay, metrics=metrics
    )

    async def outbox_pending() -> None:
        pending = await store.count(OUTBOX) - relay.published_unswept
        metrics.outbox_pending.labels(name).set(max(0, pending))

    async def timers_late() -> None:
        metrics.timers_late.labels(name).set(await late(store, now=time.time()))

    metrics.on_scrape(bus.refresh_gauges)
    metrics.on_scrape(outbox_pending)
    metrics.on_scrape(timers_late)
    try:
        yield runtime
    finally:
        if runtime.clock is not None:
            await runtime.clock.stop()
        await bus.stop_consumers()
        with suppress(Exception):
            # Last chance to hand committed events over; what is left goes out on next start.
            async with asyncio.timeout(5.0):
                await relay.drain()
        await relay.stop()
        await bus.close()
        await store.close()
