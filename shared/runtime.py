"""What every service builds in its lifespan: store, bus, outbox relay, idempotent consumers."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import TypeVar

from shared.bus import Bus, Handler, bus_from_settings
from shared.events import Envelope, EventData, utcnow
from shared.metrics import Metrics
from shared.outbox import COLLECTION as OUTBOX
from shared.outbox import MIGRATIONS as OUTBOX_MIGRATIONS
from shared.outbox import OutboxRelay, add_to_outbox
from shared.settings import BaseServiceSettings
from shared.store import Store, Writer, open_store
from shared.store.migrations import migrate
from shared.store.retry import transact
from shared.streams import ConsumerSpec
from shared.telemetry import current_traceparent, setup_tracing

log = logging.getLogger("hulei.runtime")
PROCESSED = "processed_events"
R = TypeVar("R")


@dataclass
class UnitOfWork:
    """One store transaction plus the events it announces (written to the outbox with it)."""

    tx: Writer
    events: list[Envelope] = field(default_factory=list)

    def emit(self, *envelopes: Envelope) -> None:
        self.events.extend(envelopes)

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


EventEffect = Callable[[Envelope, UnitOfWork], Awaitable[None]]
Work = Callable[[UnitOfWork], Awaitable[R]]


@dataclass
class Runtime:
    name: str
    settings: BaseServiceSettings
    store: Store
    bus: Bus
    relay: OutboxRelay
    metrics: Metrics

    @asynccontextmanager
    async def unit_of_work(self) -> AsyncIterator[UnitOfWork]:
        async with self.store.transaction() as tx:
            uow = UnitOfWork(tx)
            yield uow
            await add_to_outbox(tx, *uow.events)
        if uow.events:
            self.relay.notify()

    async def transact(self, work: Work[R]) -> R:
        """`work(uow)` in a unit of work, run again from the start when the transaction lost a
        race (bounded; then StoreUnavailableError). `work` must touch nothing but `uow`."""
        committed: list[UnitOfWork] = []

        async def attempt(tx: Writer) -> R:
            uow = UnitOfWork(tx)
            result = await work(uow)
            await add_to_outbox(tx, *uow.events)
            committed[:] = [uow]
            return result

        result = await transact(self.store, attempt)
        if committed and committed[0].events:
            self.relay.notify()
        return result

    def once(self, spec: ConsumerSpec, effect: EventEffect) -> Handler:
        """Wrap an effect so a redelivered event changes nothing the second time."""

        async def handler(envelope: Envelope) -> bool:
            marker = f"{spec.durable}:{envelope.id}"
            if await self.store.get(PROCESSED, marker) is not None:
                return False

            async def work(uow: UnitOfWork) -> bool:
                # Checked again and marked in the same transaction as the effect: a concurrent
                # duplicate (another replica) conflicts, is run again, and stops here.
                if await uow.tx.get(PROCESSED, marker) is not None:
                    return False
                await uow.tx.insert(PROCESSED, {"id": marker, "at": utcnow().isoformat()})
                await effect(envelope, uow)
                return True

            return await self.transact(work)

        return handler

    def consume(self, spec: ConsumerSpec, effect: EventEffect) -> None:
        self.bus.consume(spec, self.once(spec, effect))

    async def ready(self) -> dict[str, bool]:
        try:
            await asyncio.wait_for(self.store.ping(), timeout=2.0)
            store_ok = True
        except Exception:
            store_ok = False
        return {
            "nats": self.bus.connected,
            "store": store_ok,
            "consumers": self.bus.consumers_running or not self.bus.has_consumers,
            "outbox_relay": self.relay.running,
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
        metrics.outbox_pending.labels(name).set(await store.count(OUTBOX))

    metrics.on_scrape(bus.refresh_gauges)
    metrics.on_scrape(outbox_pending)
    try:
        yield runtime
    finally:
        await bus.stop_consumers()
        with suppress(Exception):
            # Last chance to hand committed events over; what is left goes out on next start.
            await asyncio.wait_for(relay.drain(), timeout=5.0)
        await relay.stop()
        await bus.close()
        await store.close()
