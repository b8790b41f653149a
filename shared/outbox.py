"""Transactional outbox: events are written with the state change, then relayed to JetStream.

The rows a commit wrote are handed to the relay in memory and published at once (no read of
the table), and a published row is deleted by the next transaction the process commits anyway
(or by the relay within `SWEEP_S` when none comes): one commit per unit of work, not two. A
crash between the commit and the publish loses nothing: the relay's scan finds the row on
restart and publishes it with the same Nats-Msg-Id, which JetStream de-duplicates (its window,
ten minutes, is far longer than a row waits to be deleted).
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import Any, NamedTuple

from shared.bus import Bus
from shared.events import Envelope
from shared.store import Store, Writer
from shared.store.migrations import Migration
from shared.store.retry import transact
from shared.tasks import stop

log = logging.getLogger("hulei.outbox")
COLLECTION = "outbox"
BATCH = 500  # entries read, published and deleted per pass
SWEEP_S = 1.0  # the longest a published row waits for a transaction to delete it with
# The scan leaves a row this young to the process that committed it (handed over in memory):
# another replica on the same database would only publish it twice.
GRACE_S = 3.0


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


def _entry(envelope: Envelope) -> Row:
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


Row = dict[str, Any]


async def add_to_outbox(tx: Writer, *envelopes: Envelope) -> list[Row]:
    """Write the events with the transaction; the rows, for `OutboxRelay.hand_over` once it
    committed."""
    rows = [_entry(envelope) for envelope in envelopes]
    for row in rows:
        await tx.insert(COLLECTION, row)
    return rows


async def remove_from_outbox(tx: Writer, ids: Sequence[str]) -> None:
    for event_id in ids:
        await tx.delete(COLLECTION, event_id)


def _serialised(doc: Row) -> Row:
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
    """Publishes committed rows and has them deleted once published.

    A row is *held* from its hand-over until its deletion committed, so the scan of the table
    never publishes it a second time; a row whose publish failed is let go, and the scan (each
    `poll_s`, after a reconnect, at shutdown) publishes it later. Published rows wait in `_sent`
    for the next transaction (`claim`, then `swept` or `release`).
    """

    def __init__(
        self,
        *,
        store: Store,
        bus: Bus,
        concurrency: int = 64,
        poll_s: float = 1.0,
        sweep_s: float = SWEEP_S,
        grace_s: float = GRACE_S,
    ) -> None:
        self._store = store
        self._bus = bus
        self._limit = asyncio.Semaphore(concurrency)
        self._poll_s = poll_s
        self._sweep_s = sweep_s
        self._grace_ns = int(grace_s * 1e9)
        self._wake = asyncio.Event()
        self._scan_due = True  # at start: what a previous run left
        self._task: asyncio.Task[None] | None = None
        self._fresh: list[Row] = []
        self._held: set[str] = set()
        self._sent: list[str] = []
        self._sent_since = math.inf  # when the oldest row in `_sent` was published
        self._in_flight = 0  # held rows being published now (not yet acknowledged)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="outbox-relay")

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    @property
    def published_unswept(self) -> int:
        """Rows still in the table though already published (deleted with the next commit)."""
        return len(self._held) - len(self._fresh) - self._in_flight

    def notify(self) -> None:
        """Scan the table now instead of at the next poll (after a reconnect, or a row written
        without a hand-over)."""
        self._scan_due = True
        self._wake.set()

    def hand_over(self, rows: Sequence[Row]) -> None:
        """Rows a transaction committed: publish them now."""
        self._fresh.extend(rows)
        self._held.update(row["id"] for row in rows)
        self._wake.set()

    def claim(self) -> list[str]:
        """Published rows for a transaction to delete; `swept` after its commit, `release` if
        it rolled back."""
        ids, self._sent, self._sent_since = self._sent, [], math.inf
        return ids

    def swept(self, ids: Sequence[str]) -> None:
        self._held.difference_update(ids)

    def release(self, ids: Sequence[str]) -> None:
        if ids:
            self._sent.extend(ids)
            self._sent_since = min(self._sent_since, time.monotonic())

    async def _run(self) -> None:
        last_scan, wait = -math.inf, 0.0
        while True:
            # Asleep until handed rows or the next scan or sweep is due, not woken on a fixed
            # tick: an idle process's wake-ups are most of its CPU (docs/performance.md).
            with suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()
            self._wake.clear()
            wait = self._poll_s  # after a failed pass, or while disconnected
            if not self._bus.connected:
                continue  # publishing now would only wait out timeouts; reconnect wakes us
            try:
                await self._publish_fresh()
                now = time.monotonic()
                if self._scan_due or now - last_scan >= self._poll_s:
                    self._scan_due, last_scan = False, now
                    # A short batch means the outbox is drained: no further read to find it empty.
                    while (passed := await self._pass(young=False)).full and passed.published:
                        pass
                if len(self._sent) >= BATCH or now - self._sent_since >= self._sweep_s:
                    await self._sweep()
                due = min(last_scan + self._poll_s, self._sent_since + self._sweep_s)
                wait = max(0.0, due - time.monotonic())
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                log.warning("outbox relay pass failed, will retry: %r", exc)

    async def drain(self) -> int:
        """Publish what was handed over and up to a batch of what the table holds besides, and
        delete what was published; return how many were published."""
        published = await self._publish_fresh()
        published += (await self._pass(young=True)).published
        await self._sweep()
        return published

    async def _publish_fresh(self) -> int:
        rows, self._fresh = self._fresh, []
        return await self._publish(rows)

    async def _pass(self, *, young: bool, batch: int = BATCH) -> _Pass:
        """Publish up to `batch` rows of the table no hand-over holds (the oldest first),
        leaving those younger than the grace to their committer unless `young`."""
        found = await self._store.find(COLLECTION, order_by="seq", limit=batch + len(self._held))
        cutoff = math.inf if young else time.time_ns() - self._grace_ns
        pending = [doc for doc in found if doc["id"] not in self._held and doc["seq"] < cutoff]
        pending = pending[:batch]
        self._held.update(doc["id"] for doc in pending)
        return _Pass(full=len(pending) == batch, published=await self._publish(pending))

    async def _publish(self, rows: Sequence[Row]) -> int:
        if not rows:
            return 0
        self._in_flight += len(rows)
        try:
            if len(rows) == 1:  # most commits announce one event: no task for it
                results = [await self._relay_one(rows[0])]
            else:
                results = await asyncio.gather(*(self._relay_one(doc) for doc in rows))
        finally:
            self._in_flight -= len(rows)
        sent = [str(doc["id"]) for doc, ok in zip(rows, results, strict=True) if ok]
        # Failed ones are let go: the scan publishes them later.
        self._held.difference_update(
            str(doc["id"]) for doc, ok in zip(rows, results, strict=True) if not ok
        )
        self.release(sent)
        return len(sent)

    async def _sweep(self) -> None:
        """Delete what was published in a commit of its own (no transaction came to do it).
        A crash before this commit only means a re-publish that JetStream drops."""
        ids = self.claim()
        if not ids:
            return

        async def remove(tx: Writer) -> None:
            await remove_from_outbox(tx, ids)

        try:
            await transact(self._store, remove)
        except BaseException:
            self.release(ids)
            raise
        self.swept(ids)

    async def _relay_one(self, doc: Row) -> bool:
        async with self._limit:
            doc = _serialised(doc)
            # A row of a version before shared/timers.py kept timers names its own route (a
            # JetStream schedule); one left in the outbox at an upgrade still goes out.
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
                return False
            return True

    async def stop(self) -> None:
        if self._task is not None:
            await stop(self._task)
