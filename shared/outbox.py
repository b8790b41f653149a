"""Transactional outbox: events are written with the state change, then relayed to JetStream.

A crash between the commit and the publish loses nothing: the relay finds the entry on restart
and publishes it with the same Nats-Msg-Id, which JetStream de-duplicates.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, NamedTuple

from shared.bus import Bus
from shared.events import Envelope
from shared.store import Store, Writer
from shared.store.migrations import Migration
from shared.store.retry import transact
from shared.timers import Timer

log = logging.getLogger("hulei.outbox")
COLLECTION = "outbox"
BATCH = 500  # entries read, published and deleted per pass


class _Sequence:
    """Wall-clock nanoseconds, strictly increasing within the process: the relay picks the
    oldest entries first (roughly across processes), though it publishes a batch concurrently,
    so JetStream's order is not commit order and no consumer may rely on it. The value
    (~1.8e18) fits BSON's int64 (MongoDB refuses anything above 9.2e18)."""

    def __init__(self) -> None:
        self._last = 0

    def next(self) -> int:
        self._last = max(time.time_ns(), self._last + 1)
        return self._last


_seq = _Sequence()


async def _by_seq_v1(store: Store) -> None:
    await store.ensure_index(COLLECTION, ["seq"])  # the relay reads the oldest first


MIGRATIONS = [Migration(1, "outbox entries in relay order", _by_seq_v1)]


def _entry(envelope: Envelope) -> dict[str, Any]:
    """An outbox row: the envelope as the bytes to publish (serialised once, here, in C), and
    what the relay needs to publish them without parsing them again."""
    return {
        "id": envelope.id,
        "seq": _seq.next(),
        "type": envelope.type,
        "nats_subject": envelope.nats_subject,
        "traceparent": envelope.traceparent,
        "json": envelope.model_dump_json(),
    }


async def add_to_outbox(tx: Writer, *envelopes: Envelope, timers: Sequence[Timer] = ()) -> None:
    for envelope in envelopes:
        await tx.insert(COLLECTION, _entry(envelope))
    for timer in timers:  # relayed as a schedule message (shared/timers.py)
        doc = _entry(timer.envelope)
        doc["publish"] = {"subject": timer.subject, "headers": timer.headers()}
        await tx.insert(COLLECTION, doc)


def _serialised(doc: dict[str, Any]) -> dict[str, Any]:
    """A row as `_entry` writes it; a row written before (the envelope as a document) is
    converted, so what a previous version left in the outbox is still relayed."""
    if "json" in doc:
        return doc
    envelope = Envelope.model_validate(doc["envelope"])
    return {**_entry(envelope), "seq": doc["seq"], "publish": doc.get("publish")}


class _Pass(NamedTuple):
    full: bool  # as many pending as asked for: there may be more
    published: int


class OutboxRelay:
    def __init__(
        self, *, store: Store, bus: Bus, concurrency: int = 64, poll_s: float = 1.0
    ) -> None:
        self._store = store
        self._bus = bus
        self._limit = asyncio.Semaphore(concurrency)
        self._poll_s = poll_s
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    def notify(self) -> None:
        """Called after a commit that wrote to the outbox: relay now instead of at next poll."""
        self._wake.set()

    async def _run(self) -> None:
        while True:
            with suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), timeout=self._poll_s)
            self._wake.clear()
            if not self._bus.connected:
                continue  # publishing now would only wait out timeouts; reconnect wakes us
            try:
                # A short batch means the outbox is drained: no further read to find it empty.
                while (passed := await self._pass()).full and passed.published:
                    pass
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed, will retry: %r", exc)

    async def drain(self) -> int:
        """Publish up to a batch of pending events; return how many were published."""
        return (await self._pass()).published

    async def _pass(self, batch: int = BATCH) -> _Pass:
        """Publish up to `batch` pending events concurrently, then delete the published ones
        in one commit."""
        pending = await self._store.find(COLLECTION, order_by="seq", limit=batch)
        results = await asyncio.gather(*(self._relay_one(doc) for doc in pending))
        sent = [event_id for event_id in results if event_id is not None]
        # A crash before this commit only means a re-publish that JetStream drops.

        async def remove(tx: Writer) -> None:
            for event_id in sent:
                await tx.delete(COLLECTION, event_id)

        if sent:
            await transact(self._store, remove)
        return _Pass(full=len(pending) == batch, published=len(sent))

    async def _relay_one(self, doc: dict[str, Any]) -> str | None:
        async with self._limit:
            doc = _serialised(doc)
            route = doc.get("publish")
            subject, headers = (route["subject"], route["headers"]) if route else (None, None)
            try:
                await self._bus.publish_json(
                    doc["json"].encode(),
                    event_id=doc["id"],
                    event_type=doc["type"],
                    subject=subject or doc["nats_subject"],
                    traceparent=doc["traceparent"],
                    extra_headers=headers,
                )
            except Exception as exc:
                log.warning("outbox publish of %s failed: %r", doc["nats_subject"], exc)
                return None
            return str(doc["id"])

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with suppress(asyncio.CancelledError):
                await self._task
