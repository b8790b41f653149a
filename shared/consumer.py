"""Durable pull consumers: fetch a batch, hand it to the handler whole, settle each message.

A message is acked only after the handler returned its outcome (its effect committed); a
failed one is nak'ed with backoff and, after `max_deliver` deliveries, moved to the DEADLETTER
stream so it never blocks the messages behind it. An event whose `source` may not publish its
subject (`shared.streams.PUBLISHERS`) is dead-lettered at once, never handled. The handler
gets the whole batch so it can commit it in one transaction (`Runtime.consume`); it reports
one outcome per event, so one poison event fails alone.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Sequence
from contextlib import suppress
from typing import TYPE_CHECKING

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.trace import Tracer

from shared.carried import handed
from shared.contracts.ops import DeadLettered
from shared.delivery import BatchHandler, Delivery, Outcome, by_message, peek_envelope, working_on
from shared.events import Envelope
from shared.metrics import KeptLabels, Metrics
from shared.pace import Pace, gather_window_s
from shared.store import StoreUnavailableError
from shared.streams import ConsumerSpec, publishers_of

if TYPE_CHECKING:
    from shared.bus import Bus

log = logging.getLogger("hulei.bus")
FETCH_TIMEOUT_S = 2.0  # also how soon a pull that went to a lost leader is replaced
# Whether messages wait unseen (a stale subscription, seen after server restarts and leader
# changes) is asked after each of the first STALL_CHECKS_AFTER_FAULT expired pulls that follow
# a reconnect or a failed fetch, and otherwise after every STALL_CHECK_EVERY-th: 14 idle
# durables asking every 2 s were a good part of an idle platform's CPU (docs/performance.md,
# session 28).
STALL_CHECK_EVERY = 10
STALL_CHECKS_AFTER_FAULT = 5
# How long a pull for messages the server said were waiting may take. Short: when another
# replica took them meanwhile, the server holds the pull open this long; on a stalled machine
# past it, the first message is handled alone and the rest follow (nothing is lost).
BURST_WAIT_S = 0.25
DRAIN_WAIT_S = 0.05  # after a batch, how long a pull waits for more before the long poll


class StallCheck:
    """When an idle consumer's expired pull is followed by a question to the server."""

    def __init__(
        self, every: int = STALL_CHECK_EVERY, after_fault: int = STALL_CHECKS_AFTER_FAULT
    ) -> None:
        self.every = every
        self.after_fault = after_fault
        self._expired = 0  # pulls in a row that expired with nothing
        self._eager = 0  # expiries still to be checked each, after a fault

    def got_messages(self) -> None:
        self._expired = 0

    def fault(self) -> None:
        """A reconnect or a failed fetch: a stale subscription is likely for a while."""
        self._eager = self.after_fault

    def expired(self) -> bool:
        """A pull expired: whether to ask now."""
        self._expired += 1
        if self._eager:
            self._eager -= 1
            return True
        return self._expired % self.every == 0


def backoff_s(delivered: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Redelivery delay after the n-th failed delivery: `base` doubling, capped at `cap`."""
    return float(min(cap, base * 2 ** max(0, delivered - 1)))


async def _waiting(sub: JetStreamContext.PullSubscription, want: int) -> list[Msg]:
    """`want` messages the server said wait. Asked for by number, so it answers at once
    instead of holding the pull open for more."""
    if want <= 0:
        return []
    try:
        return await sub.fetch(want, timeout=BURST_WAIT_S)
    except Exception:
        return []  # taken by another replica meanwhile (or a fault the long poll will see)


async def _give_back(msgs: Sequence[Msg]) -> None:
    """Back to the stream now (nak), for another replica or the next start, instead of
    after the ack timeout."""
    for msg in msgs:
        with suppress(Exception):
            await msg.nak()


class PullConsumer:
    """The pull loop of one durable consumer of `bus`."""

    def __init__(
        self,
        bus: Bus,
        spec: ConsumerSpec,
        handler: BatchHandler,
        *,
        batch: int,
        name: str,
        metrics: Metrics,
        tracer: Tracer,
        stopping: asyncio.Event,
    ) -> None:
        self._bus = bus
        self._spec = spec
        self._handler = handler
        self._batch = batch
        self._name = name
        self._metrics = metrics
        self._tracer = tracer
        self._stopping = stopping
        self._consumed = KeptLabels(metrics.events_consumed, name, spec.durable)
        self._pace = Pace()
        self._stall_check = StallCheck()
        bus.on_reconnect(self._stall_check.fault)

    async def _stalled(self) -> bool:
        try:
            info = await self._bus.js.consumer_info(
                self._spec.stream, self._spec.durable, timeout=2.0
            )
        except Exception:
            return True  # cannot even ask: rebuild the subscription
        return bool(info.num_pending)

    async def run(self) -> None:
        spec = self._spec
        sub: JetStreamContext.PullSubscription | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if sub is None:
                    sub = await self._bus.bind(spec)
                # Long poll for one message so it is handled the moment it arrives; a long fetch
                # of a whole batch would hold it until the batch filled or the request expired.
                # No idle heartbeat: nats-py's fetch waits out its timeout whether or not they
                # come, so they were only messages to read (two a second a durable).
                msgs = await sub.fetch(1, timeout=FETCH_TIMEOUT_S)
                failures = 0
                self._stall_check.got_messages()
            except nats.errors.TimeoutError:
                if sub is not None and self._stall_check.expired() and await self._stalled():
                    # Messages wait but none came: the subscription went stale (seen with
                    # nats-py after a server restart). Recreate it.
                    log.warning("consumer %s stalled; recreating its subscription", spec.durable)
                    self._stall_check.fault()
                    with suppress(Exception):
                        await sub.unsubscribe()
                    sub = None
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A stalled or broken subscription (e.g. after a server restart) is recreated.
                failures += 1
                self._stall_check.fault()
                log.warning("consumer %s fetch failed (%d): %r", spec.durable, failures, exc)
                if sub is not None:
                    with suppress(Exception):
                        await sub.unsubscribe()
                sub = None
                await asyncio.sleep(min(5.0, 0.2 * failures))
                continue
            # Then what the server said waits behind it, in batches, the first with it: a
            # burst (the events one commit announced) is one transaction, not two.
            while msgs:
                room = self._batch - len(msgs)
                now = time.monotonic()
                self._pace.took(len(msgs), now=now)
                if window := gather_window_s(spec, self._pace, now=now):
                    try:
                        more = await self._gathered(sub, room=room, window_s=window)
                    except asyncio.CancelledError:
                        await _give_back(msgs)  # stopped: to another replica at once
                        raise
                else:
                    more = await self._behind(sub, msgs[-1], room=room)
                self._pace.took(len(more), now=time.monotonic())
                msgs += more
                await self._handle_batch(msgs)
                if self._stopping.is_set():
                    break
                # Then drain while events keep coming: the pull's short wait gathers what
                # arrives meanwhile, so under load a transaction carries several bursts.
                try:
                    msgs = await sub.fetch(self._batch, timeout=DRAIN_WAIT_S)
                except Exception:
                    break  # nothing came (or a fault the long poll above will see)

    async def _behind(
        self, sub: JetStreamContext.PullSubscription, last: Msg, *, room: int
    ) -> list[Msg]:
        """Up to `room` of the messages that waited behind `last` when it was delivered. Asked
        for by number, so the server answers at once instead of holding the pull open for
        more; none asked for when none waited (the long poll takes what comes next)."""
        return await _waiting(sub, min(last.metadata.num_pending or 0, room))

    async def _gathered(
        self, sub: JetStreamContext.PullSubscription, *, room: int, window_s: float
    ) -> list[Msg]:
        """Up to `room` of what arrives within `window_s`: left on the server while
        it lasts (no pull is open), then asked for by number, so the pull is answered at once
        and never lingers when nothing came."""
        if room <= 0:
            return []
        spec = self._spec
        await asyncio.sleep(window_s)
        try:
            info = await self._bus.js.consumer_info(spec.stream, spec.durable, timeout=2.0)
        except Exception:
            return []  # the long poll will see a lasting fault
        return await _waiting(sub, min(info.num_pending or 0, room))

    async def _handle_batch(self, msgs: list[Msg]) -> None:
        """The batch in order, in one call of the handler. If stopped before or during it,
        what is not settled goes straight back to the stream (nak) for another replica or the
        next start, instead of waiting out the ack timeout."""
        settled: set[int] = set()
        try:
            if self._stopping.is_set():
                return
            deliveries: list[Delivery] = []
            for msg in msgs:
                admitted = await self._admit(msg)
                if admitted:
                    deliveries += admitted
                else:
                    settled.add(id(msg))
            if not deliveries:
                return
            every_s = self._spec.ack_wait_s / 3
            async with working_on(
                list({id(d.msg): d.msg for d in deliveries}.values()), every_s=every_s
            ):
                outcomes = await self._handler(deliveries)
            for msg, handled in by_message(deliveries, outcomes):
                await self._settle(msg, handled)
                settled.add(id(msg))
        finally:
            await _give_back([msg for msg in msgs if id(msg) not in settled])

    async def _admit(self, msg: Msg) -> list[Delivery]:
        """The message's events this consumer is sent, as deliveries to handle: one, or those a
        carrier holds (shared/carried.py); none when it was dead-lettered at once, or acked
        because it carried nothing for this consumer."""
        durable = self._spec.durable
        if msg.metadata.num_delivered > 1:
            self._metrics.redeliveries.labels(self._name, durable).inc()
        try:
            envelope = Envelope.model_validate_json(msg.data)
        except ValueError as exc:
            await self._dead_letter(msg, f"undecodable envelope: {exc}")
            self._consumed.inc("unknown", "dead_lettered")
            return []
        if envelope.source not in publishers_of(msg.subject):
            # The server let its publisher through, yet the envelope claims another owner:
            # a forgery or a bug. Never handled, never retried.
            reason = f"source {envelope.source!r} may not publish {msg.subject}"
            await self._dead_letter(msg, reason)
            self._consumed.inc(envelope.type, "dead_lettered")
            return []
        try:
            events = handed(envelope, self._spec.subjects)
        except ValueError as exc:  # a carrier that does not decode, or carries a forgery
            await self._dead_letter(msg, f"bad carrier: {exc}")
            self._consumed.inc(envelope.type, "dead_lettered")
            return []
        if not events:  # a carrier of nothing this consumer acts on
            await msg.ack()
            return []
        return Delivery.received(msg, events, durable=durable, tracer=self._tracer)

    async def _settle(self, msg: Msg, handled: list[tuple[Delivery, Outcome]]) -> None:
        """Ack the message when every event it delivered was handled; else nak it (its
        handled events are duplicates next time) or, at the last delivery, dead-letter it."""
        failure = next((o for _, o in handled if isinstance(o, Exception)), None)
        for delivery, outcome in handled:
            if not isinstance(outcome, Exception):
                self._consumed.inc(
                    delivery.envelope.type, "duplicate" if outcome is False else "ok"
                )
        if failure is None:
            await msg.ack()
            return
        delivered = msg.metadata.num_delivered
        # A store that is down or busy is an outage, not a poison event: wait it out (with
        # backoff) however many deliveries it takes; dead letters are for events no retry fixes.
        outage = isinstance(failure, StoreUnavailableError)
        if delivered >= self._bus.max_deliver and not outage:
            await self._dead_letter(msg, f"{type(failure).__name__}: {failure}")
            result = "dead_lettered"
        else:
            log.warning(
                "handler %s failed (delivery %d): %r", self._spec.durable, delivered, failure
            )
            await msg.nak(delay=self._bus.redelivery_delay_s(delivered))
            result = "failed"
        for delivery, outcome in handled:
            if isinstance(outcome, Exception):
                self._consumed.inc(delivery.envelope.type, result)

    async def _dead_letter(self, msg: Msg, reason: str) -> None:
        """Copy to DEADLETTER, raise the ops.dead_lettered alert, then ack the original.

        Both publishes carry ids derived from the original's stream sequence, so a crash
        before the ack and the redelivery that follows store nothing twice.
        """
        meta = msg.metadata
        durable = self._spec.durable
        key = f"{durable}:{meta.sequence.stream}"
        reason = reason[:500]
        headers = {
            "Nats-Msg-Id": f"dl:{key}",
            "Hulei-Original-Subject": msg.subject,
            "Hulei-Consumer": durable,
            "Hulei-Deliveries": str(meta.num_delivered),
            "Hulei-Reason": reason,
        }
        ack = await self._bus.js.publish(f"deadletter.{durable}", msg.data, headers=headers)
        original = peek_envelope(msg.data)
        alert = DeadLettered(
            dead_letter_id=ack.seq,
            consumer=durable,
            original_subject=msg.subject,
            event_id=original.get("id"),
            event_type=original.get("type"),
            reason=reason,
            deliveries=meta.num_delivered,
        )
        envelope = Envelope.wrap(
            alert,
            source=self._name,
            subject=str(ack.seq),
            correlation_id=original.get("correlation_id") or f"dl-{key}",
        ).model_copy(update={"id": f"dl-alert-{key}"})
        await self._bus.publish(envelope)
        await msg.ack()
        log.error("dead-lettered %s from %s: %s", msg.subject, durable, reason)
