"""The JetStream bus: streams declared once, publishes with Nats-Msg-Id, durable pull consumers.

Rules (see README): events only on JetStream; every publish carries Nats-Msg-Id = event id and is
retried with the same id; consumers ack only after the handler returned (its effect committed);
a failing message is nak'ed with backoff and, after `max_deliver` deliveries, moved to the
DEADLETTER stream so it never blocks the messages behind it. An event whose `source` may not
publish its subject (`shared.streams.PUBLISHERS`) is dead-lettered at once, never handled.

A bus connects as one NATS identity (`shared/nats_auth.py`). Only the admin identity may declare
streams and consumers: a service's bus (`declare=False`) binds to durables declared up front.
"""

from __future__ import annotations

import asyncio
import json
import logging
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager, suppress

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from opentelemetry.trace import SpanKind
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

from shared.contracts.ops import DeadLettered
from shared.events import Envelope
from shared.metrics import Metrics
from shared.nats_auth import inbox_prefix
from shared.settings import BaseServiceSettings
from shared.store import StoreUnavailableError
from shared.streams import (
    CONSUMERS,
    STREAMS,
    ConsumerSpec,
    StreamSpec,
    consumer_config,
    publishers_of,
    stream_config,
)
from shared.telemetry import extract, inject, tracer

log = logging.getLogger("hulei.bus")
# A handler returns False when it recognised the event as already handled (a duplicate).
Handler = Callable[[Envelope], Awaitable[bool | None]]

PUBLISH_TIMEOUT_S = 5.0
FETCH_TIMEOUT_S = 2.0  # also how soon a pull that went to a lost leader is replaced
# How long a publish keeps retrying (same message id) before giving up: covers a cluster
# electing a new stream leader after a node is lost, which takes a few seconds.
PUBLISH_RETRY_WITHIN_S = 15.0


def peek_envelope(data: bytes) -> dict[str, str]:
    """The id, type and correlation of an envelope, if the bytes are one at all."""
    try:
        raw = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: str(raw[k]) for k in ("id", "type", "correlation_id") if raw.get(k)}


@asynccontextmanager
async def _working_on(msg: Msg, *, every_s: float) -> AsyncIterator[None]:
    """Keep the message ours while a slow handler runs (e.g. a store waiting on a lock)."""

    async def tick() -> None:
        while True:
            await asyncio.sleep(every_s)
            with suppress(Exception):
                await msg.in_progress()

    ticker = asyncio.create_task(tick())
    try:
        yield
    finally:
        ticker.cancel()
        with suppress(asyncio.CancelledError):
            await ticker


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


def backoff_s(delivered: int, *, base: float = 0.5, cap: float = 30.0) -> float:
    """Redelivery delay after the n-th failed delivery: `base` doubling, capped at `cap`."""
    return float(min(cap, base * 2 ** max(0, delivered - 1)))


# JetStream's answer to adding a stream that exists with another configuration.
STREAM_NAME_IN_USE = 10058


class Bus:
    def __init__(
        self,
        *,
        url: str,
        name: str,
        replicas: int = 1,
        max_deliver: int = 10,
        retry_base_s: float = 0.5,
        retry_cap_s: float = 30.0,
        metrics: Metrics | None = None,
        user: str | None = None,
        password: str | None = None,
        ca_file: str | None = None,
        declare: bool = False,
    ) -> None:
        # A comma-separated list names the seeds of a cluster; the client learns the rest.
        self._servers = [u.strip() for u in url.split(",") if u.strip()]
        self._name = name
        self._user = user
        self._password = password
        self._ca_file = ca_file
        # Admin only: the pull loop creates its durable if missing (tests' ad-hoc consumers).
        self._declare = declare
        self._replicas = replicas
        self.max_deliver = max_deliver
        self._retry_base_s = retry_base_s
        self._retry_cap_s = retry_cap_s
        self._reconnect_listeners: list[Callable[[], None]] = []
        self._metrics = metrics or Metrics(name)
        self._specs: list[ConsumerSpec] = []
        self._nc: Client | None = None
        self._js: JetStreamContext | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._stopping = asyncio.Event()
        self._tracer = tracer(name)

    @property
    def connected(self) -> bool:
        return self._nc is not None and self._nc.is_connected

    @property
    def js(self) -> JetStreamContext:
        if self._js is None:
            raise RuntimeError("bus not connected")
        return self._js

    async def connect(self) -> None:
        async def on_disconnect() -> None:
            log.warning("nats disconnected")

        async def on_reconnect() -> None:
            log.info("nats reconnected")
            for listener in self._reconnect_listeners:
                listener()

        async def on_error(exc: Exception) -> None:
            log.warning("nats error: %s", exc)

        self._nc = await nats.connect(
            self._servers,
            name=self._name,
            max_reconnect_attempts=-1,  # reconnect forever; /readyz says not-ready meanwhile
            reconnect_time_wait=0.5,
            connect_timeout=5,
            disconnected_cb=on_disconnect,
            reconnected_cb=on_reconnect,
            error_cb=on_error,
            user=self._user,
            password=self._password,
            # Replies come to this identity's own inbox: it may subscribe to nothing else.
            inbox_prefix=inbox_prefix(self._user) if self._user else "_INBOX",
            tls=ssl.create_default_context(cafile=self._ca_file) if self._ca_file else None,
        )
        self._js = self._nc.jetstream(timeout=PUBLISH_TIMEOUT_S)

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        self._reconnect_listeners.append(listener)

    async def ensure_streams(
        self, streams: Sequence[StreamSpec] = STREAMS, *, within_s: float = 60.0
    ) -> None:
        """Declare the streams; a cluster still electing its JetStream leader is waited for."""
        retrying = AsyncRetrying(
            # A forming cluster answers 503, or 400 "no suitable peers" until every peer has
            # joined; a real configuration error repeats and is raised at the deadline.
            retry=retry_if_exception_type((nats.errors.TimeoutError, nats.js.errors.APIError)),
            stop=stop_after_delay(within_s),
            wait=wait_fixed(0.5),
            before_sleep=lambda state: log.info(
                "JetStream not ready yet (%r); retrying", _failure(state)
            ),
            reraise=True,
        )
        await retrying(self._add_streams, streams)

    async def _add_streams(self, streams: Sequence[StreamSpec]) -> None:
        for spec in streams:
            config = stream_config(spec, replicas=self._replicas)
            try:
                await self.js.add_stream(config)
            except nats.js.errors.BadRequestError as exc:
                if exc.err_code != STREAM_NAME_IN_USE:
                    raise
                await self.js.update_stream(config)

    async def publish(self, envelope: Envelope, *, subject: str | None = None) -> None:
        """Publish and wait for the stream's ack; retry with the same Nats-Msg-Id on timeout."""
        headers = {"Nats-Msg-Id": envelope.id}
        if envelope.traceparent:
            headers["traceparent"] = envelope.traceparent
        else:
            inject(headers)
        payload = envelope.model_dump_json().encode()
        target = subject or envelope.nats_subject
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(
                (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError)
            ),
            stop=stop_after_delay(PUBLISH_RETRY_WITHIN_S),
            wait=wait_exponential(multiplier=0.2, max=1.0),  # 0.2, 0.4, 0.8, then 1 s
            before_sleep=lambda state: log.warning(
                "publish %s attempt %d failed: %r", target, state.attempt_number, _failure(state)
            ),
            reraise=True,
        )
        await retrying(self.js.publish, target, payload, headers=headers, timeout=PUBLISH_TIMEOUT_S)
        self._metrics.events_published.labels(self._name, envelope.type).inc()

    def consume(self, spec: ConsumerSpec, handler: Handler, *, batch: int = 16) -> None:
        """Start a background pull loop for a durable consumer."""
        task = asyncio.create_task(self._pull_loop(spec, handler, batch), name=spec.durable)
        self._tasks.append(task)
        self._specs.append(spec)

    async def refresh_gauges(self) -> None:
        """Consumer lag and dead-letter count, read from JetStream at scrape time."""
        m = self._metrics
        for spec in self._specs:
            info = await self.js.consumer_info(spec.stream, spec.durable, timeout=2.0)
            m.consumer_pending.labels(self._name, spec.durable).set(info.num_pending or 0)
        dead = await self.js.stream_info("DEADLETTER")
        m.dead_letters.labels(self._name).set(dead.state.messages)

    @property
    def has_consumers(self) -> bool:
        return bool(self._tasks)

    @property
    def consumers_running(self) -> bool:
        return bool(self._tasks) and all(not t.done() for t in self._tasks)

    async def ensure_consumers(self, consumers: Sequence[ConsumerSpec] = CONSUMERS) -> None:
        for spec in consumers:
            await self.js.add_consumer(spec.stream, consumer_config(spec))

    async def _bind(self, spec: ConsumerSpec) -> JetStreamContext.PullSubscription:
        if self._declare:
            await self.ensure_consumers([spec])
        return await self.js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)

    async def _stalled(self, spec: ConsumerSpec) -> bool:
        try:
            info = await self.js.consumer_info(spec.stream, spec.durable, timeout=2.0)
        except Exception:
            return True  # cannot even ask: rebuild the subscription
        return bool(info.num_pending)

    async def _pull_loop(self, spec: ConsumerSpec, handler: Handler, batch: int) -> None:
        sub: JetStreamContext.PullSubscription | None = None
        failures = 0
        while not self._stopping.is_set():
            try:
                if sub is None:
                    sub = await self._bind(spec)
                # Long poll for one message so it is handled the moment it arrives; a long fetch
                # of a whole batch would hold it until the batch filled or the request expired.
                # The server wants the idle heartbeat under half the request's lifetime.
                msgs = await sub.fetch(1, timeout=FETCH_TIMEOUT_S, heartbeat=FETCH_TIMEOUT_S / 4)
                failures = 0
            except nats.errors.TimeoutError:
                if sub is not None and await self._stalled(spec):
                    # Messages wait but none came: the subscription went stale (seen with
                    # nats-py after a server restart). Recreate it.
                    log.warning("consumer %s stalled; recreating its subscription", spec.durable)
                    with suppress(Exception):
                        await sub.unsubscribe()
                    sub = None
                continue
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                # A stalled or broken subscription (e.g. after a server restart) is recreated.
                failures += 1
                log.warning("consumer %s fetch failed (%d): %r", spec.durable, failures, exc)
                if sub is not None:
                    with suppress(Exception):
                        await sub.unsubscribe()
                sub = None
                await asyncio.sleep(min(5.0, 0.2 * failures))
                continue
            await self._handle_batch(spec, handler, msgs)
            # Then drain a backlog in batches while one is there.
            while not self._stopping.is_set():
                try:
                    msgs = await sub.fetch(batch, timeout=0.05)
                except Exception:
                    break  # nothing ready (or a fault the long poll above will see)
                await self._handle_batch(spec, handler, msgs)

    async def _handle_batch(self, spec: ConsumerSpec, handler: Handler, msgs: list[Msg]) -> None:
        """In order, one at a time. If stopped midway, the rest go straight back to the stream
        (nak) for another replica or the next start, instead of waiting out the ack timeout."""
        done = 0
        try:
            for msg in msgs:
                if self._stopping.is_set():
                    break
                await self._handle(spec, handler, msg)
                done += 1
        finally:
            for msg in msgs[done:]:
                with suppress(Exception):
                    await msg.nak()

    async def _handle(self, spec: ConsumerSpec, handler: Handler, msg: Msg) -> None:
        delivered = msg.metadata.num_delivered
        consumed = self._metrics.events_consumed
        if delivered > 1:
            self._metrics.redeliveries.labels(self._name, spec.durable).inc()
        with self._tracer.start_as_current_span(
            f"consume {msg.subject}", context=extract(msg.headers), kind=SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.consumer.group.name", spec.durable)
            try:
                envelope = Envelope.model_validate_json(msg.data)
            except ValueError as exc:
                await self._dead_letter(spec, msg, f"undecodable envelope: {exc}")
                consumed.labels(self._name, spec.durable, "unknown", "dead_lettered").inc()
                return
            if envelope.source not in publishers_of(msg.subject):
                # The server let its publisher through, yet the envelope claims another
                # owner: a forgery or a bug. Never handled, never retried.
                reason = f"source {envelope.source!r} may not publish {msg.subject}"
                await self._dead_letter(spec, msg, reason)
                consumed.labels(self._name, spec.durable, envelope.type, "dead_lettered").inc()
                return
            try:
                async with _working_on(msg, every_s=spec.ack_wait_s / 3):
                    result = await handler(envelope)
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                span.record_exception(exc)
                # A store that is down or busy is an outage, not a poison event: wait it out
                # (with backoff) however many deliveries it takes; dead letters are for events
                # no retry can fix.
                outage = isinstance(exc, StoreUnavailableError)
                if delivered >= self.max_deliver and not outage:
                    await self._dead_letter(spec, msg, f"{type(exc).__name__}: {exc}")
                    outcome = "dead_lettered"
                else:
                    log.warning("handler %s failed (delivery %d): %r", spec.durable, delivered, exc)
                    delay = backoff_s(delivered, base=self._retry_base_s, cap=self._retry_cap_s)
                    await msg.nak(delay=delay)
                    outcome = "failed"
                consumed.labels(self._name, spec.durable, envelope.type, outcome).inc()
                return
            await msg.ack()
            outcome = "duplicate" if result is False else "ok"
            consumed.labels(self._name, spec.durable, envelope.type, outcome).inc()

    async def _dead_letter(self, spec: ConsumerSpec, msg: Msg, reason: str) -> None:
        """Copy to DEADLETTER, raise the ops.dead_lettered alert, then ack the original.

        Both publishes carry ids derived from the original's stream sequence, so a crash
        before the ack and the redelivery that follows store nothing twice.
        """
        meta = msg.metadata
        key = f"{spec.durable}:{meta.sequence.stream}"
        reason = reason[:500]
        headers = {
            "Nats-Msg-Id": f"dl:{key}",
            "Hulei-Original-Subject": msg.subject,
            "Hulei-Consumer": spec.durable,
            "Hulei-Deliveries": str(meta.num_delivered),
            "Hulei-Reason": reason,
        }
        ack = await self.js.publish(f"deadletter.{spec.durable}", msg.data, headers=headers)
        original = peek_envelope(msg.data)
        alert = DeadLettered(
            dead_letter_id=ack.seq,
            consumer=spec.durable,
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
        await self.publish(envelope)
        await msg.ack()
        log.error("dead-lettered %s from %s: %s", msg.subject, spec.durable, reason)

    async def stop_consumers(self) -> None:
        """Stop pulling. A message whose handler is cut short is not acked: it is redelivered."""
        self._stopping.set()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()

    async def close(self) -> None:
        await self.stop_consumers()
        if self._nc is not None and not self._nc.is_closed:
            # Publishes are acknowledged one by one, so nothing is buffered: close, not drain
            # (a drain would wait for pending pull requests to expire).
            with suppress(Exception):
                await self._nc.close()


def bus_from_settings(
    settings: BaseServiceSettings,
    *,
    name: str,
    metrics: Metrics | None = None,
    login: tuple[str | None, SecretStr | None] | None = None,
    declare: bool = False,
) -> Bus:
    """A process's bus as its settings say (servers, replicas, redelivery rules, TLS), so no
    app can forget one. `login`: another NATS identity than the settings' own (the gateway's
    dead-letter replayer)."""
    user, password = login if login is not None else (settings.nats_user, settings.nats_password)
    return Bus(
        url=settings.nats_url,
        name=name,
        replicas=settings.stream_replicas,
        max_deliver=settings.max_deliver,
        retry_base_s=settings.retry_base_s,
        retry_cap_s=settings.retry_cap_s,
        metrics=metrics,
        user=user,
        password=password.get_secret_value() if password else None,
        ca_file=settings.nats_ca_file,
        declare=declare,
    )
