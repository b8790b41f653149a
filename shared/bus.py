"""The JetStream bus: streams declared once, publishes with Nats-Msg-Id, durable pull consumers.

Rules (see README): events only on JetStream; every publish carries Nats-Msg-Id = event id and is
retried with the same id. Consumers (acks, redelivery, dead letters) are in `shared/consumer.py`.

A bus connects as one NATS identity (`shared/nats_auth.py`). Only the admin identity may declare
streams and consumers: a service's bus (`declare=False`) binds to durables declared up front.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
import time
from collections.abc import Callable, Sequence
from contextlib import suppress

import nats
import nats.errors
import nats.js.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_delay,
    wait_exponential,
    wait_fixed,
)

from shared.consumer import PullConsumer, backoff_s
from shared.delivery import BatchHandler, Handler, one_at_a_time
from shared.events import Envelope
from shared.metrics import KeptLabels, Metrics
from shared.nats_auth import inbox_prefix
from shared.settings import BaseServiceSettings
from shared.streams import (
    CONSUMERS,
    STREAMS,
    ConsumerSpec,
    StreamSpec,
    consumer_config,
    stream_config,
)
from shared.tasks import stop
from shared.telemetry import inject, tracer

log = logging.getLogger("hulei.bus")

PUBLISH_TIMEOUT_S = 5.0
# How long a publish keeps retrying (same message id) before giving up: covers a cluster
# electing a new stream leader after a node is lost, which takes a few seconds.
PUBLISH_RETRY_WITHIN_S = 15.0
# Most messages a consumer takes into one transaction. A batch's fixed cost (the pull, the
# processed-marks query, the commit and its fsync, the gather window's consumer info) is shared
# by what it carries: under load, 64 cost less CPU a report than 16 (docs/performance.md,
# session 16), and a batch of 64 events commits in a few milliseconds.
BATCH = 64
_RETRYABLE = (nats.errors.TimeoutError, nats.js.errors.NoStreamResponseError)


def _failure(state: RetryCallState) -> BaseException | None:
    return state.outcome.exception() if state.outcome else None


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
        self._published = KeptLabels(self._metrics.events_published, name)

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

    async def publish(
        self,
        envelope: Envelope,
        *,
        subject: str | None = None,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """Publish and wait for the stream's ack; retry with the same Nats-Msg-Id on timeout."""
        await self.publish_json(
            envelope.model_dump_json().encode(),
            event_id=envelope.id,
            event_type=envelope.type,
            subject=subject or envelope.nats_subject,
            traceparent=envelope.traceparent,
            extra_headers=extra_headers,
        )

    async def publish_json(
        self,
        payload: bytes,
        *,
        event_id: str,
        event_type: str,
        subject: str,
        traceparent: str | None,
        extra_headers: dict[str, str] | None = None,
    ) -> None:
        """`publish` of an envelope already serialised (`Envelope.model_dump_json`): the
        outbox keeps its events as those bytes, so relaying them parses and dumps nothing."""
        headers = {"Nats-Msg-Id": event_id, **(extra_headers or {})}
        if traceparent:
            headers["traceparent"] = traceparent
        else:
            inject(headers)
        started = time.monotonic()
        try:
            # Tried bare first: nearly every publish succeeds at once, and the retry machinery
            # costs more CPU than the publish itself.
            await self.js.publish(subject, payload, headers=headers, timeout=PUBLISH_TIMEOUT_S)
        except _RETRYABLE as exc:
            await self._publish_again(subject, payload, headers, failed=exc, started=started)
        self._published.inc(event_type)

    async def _publish_again(
        self,
        target: str,
        payload: bytes,
        headers: dict[str, str],
        *,
        failed: BaseException,
        started: float,
    ) -> None:
        replay = [failed]

        async def attempt() -> object:
            if replay:  # the bare attempt's failure, so the waits and the deadline count from it
                raise replay.pop()
            return await self.js.publish(
                target, payload, headers=headers, timeout=PUBLISH_TIMEOUT_S
            )

        left_s = max(0.0, PUBLISH_RETRY_WITHIN_S - (time.monotonic() - started))
        retrying = AsyncRetrying(
            retry=retry_if_exception_type(_RETRYABLE),
            stop=stop_after_delay(left_s),
            wait=wait_exponential(multiplier=0.2, max=1.0),  # 0.2, 0.4, 0.8, then 1 s
            before_sleep=lambda state: log.warning(
                "publish %s attempt %d failed: %r", target, state.attempt_number, _failure(state)
            ),
            reraise=True,
        )
        await retrying(attempt)

    def consume(self, spec: ConsumerSpec, handler: Handler, *, batch: int = BATCH) -> None:
        """Start a background pull loop for a durable consumer; events handled one by one."""
        self.consume_batches(spec, one_at_a_time(handler), batch=batch)

    def consume_batches(
        self, spec: ConsumerSpec, handler: BatchHandler, *, batch: int = BATCH
    ) -> None:
        """Start a background pull loop that hands `handler` what is ready, up to `batch`."""
        consumer = PullConsumer(
            self,
            spec,
            handler,
            batch=batch,
            name=self._name,
            metrics=self._metrics,
            tracer=self._tracer,
            stopping=self._stopping,
        )
        self._tasks.append(asyncio.create_task(consumer.run(), name=spec.durable))
        self._specs.append(spec)

    def redelivery_delay_s(self, delivered: int) -> float:
        """How long the n-th failed delivery waits before the next one."""
        return backoff_s(delivered, base=self._retry_base_s, cap=self._retry_cap_s)

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

    async def bind(self, spec: ConsumerSpec) -> JetStreamContext.PullSubscription:
        if self._declare:
            await self.ensure_consumers([spec])
        return await self.js.pull_subscribe_bind(durable=spec.durable, stream=spec.stream)

    async def stop_consumers(self) -> None:
        """Stop pulling. A message whose handler is cut short is not acked: it is redelivered."""
        self._stopping.set()
        # Side by side: each gives its unacked messages back as it stops. What a consumer
        # failed with was logged where it failed.
        await asyncio.gather(*(stop(task) for task in self._tasks), return_exceptions=True)
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
