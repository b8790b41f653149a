"""What a consumer hands its handler: a decoded event (`Delivery`) with the trace its publisher
sent, what the handler answers for it (`Outcome`), and the outcomes grouped by message (a
carrier, shared/carried.py, delivers several events in one). Kept apart from the pull loop
(shared/consumer.py) so that the runtime's parts that look at deliveries (processed marks,
hand-overs) need not import it."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass

from nats.aio.msg import Msg
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Tracer, get_current_span

from shared.events import Envelope
from shared.tasks import stop
from shared.telemetry import extract, records_spans

# A handler returns False when it recognised the event as already handled (a duplicate).
Handler = Callable[[Envelope], Awaitable[bool | None]]
# Per event of a batch: True or None handled, False a duplicate, an exception a failure.
Outcome = bool | None | Exception


@dataclass(frozen=True)
class Delivery:
    """One event of a batch, with the message that brought it (several events share a
    carrier's) and the trace it belongs to (`parent`): the one the message's headers carry,
    read once for all its events, unless a carried event names another (a carrier merged from
    several reports' intakes, shared/carried.py `merged`: each keeps its report's trace)."""

    envelope: Envelope
    msg: Msg
    durable: str
    tracer: Tracer
    parent: otel_context.Context

    @classmethod
    def received(
        cls, msg: Msg, events: Sequence[Envelope], *, durable: str, tracer: Tracer
    ) -> list[Delivery]:
        sent = extract(msg.headers)
        header = (msg.headers or {}).get("traceparent")

        def parent(event: Envelope) -> otel_context.Context:
            if event.traceparent is None or event.traceparent == header:
                return sent
            return extract({"traceparent": event.traceparent})

        return [cls(e, msg, durable, tracer, parent(e)) for e in events]

    @contextmanager
    def traced(self) -> Iterator[None]:
        """The span of handling this event, a child of the publisher's trace. When the tracer
        records nothing (no exporter) and the publisher sent a trace, no span is made: that
        trace is made current, so what the handler logs or announces still carries its id."""
        parent = self.parent
        if not records_spans(self.tracer) and get_current_span(parent).get_span_context().is_valid:
            token = otel_context.attach(parent)
            try:
                yield
            finally:
                otel_context.detach(token)
            return
        with self.tracer.start_as_current_span(
            f"consume {self.envelope.nats_subject}", context=parent, kind=SpanKind.CONSUMER
        ) as span:
            span.set_attribute("messaging.consumer.group.name", self.durable)
            yield


BatchHandler = Callable[[Sequence[Delivery]], Awaitable[Sequence[Outcome]]]


def one_at_a_time(handler: Handler) -> BatchHandler:
    async def run(deliveries: Sequence[Delivery]) -> list[Outcome]:
        outcomes: list[Outcome] = []
        for delivery in deliveries:
            try:
                with delivery.traced():
                    outcomes.append(await handler(delivery.envelope))
            except Exception as exc:
                outcomes.append(exc)
        return outcomes

    return run


def peek_envelope(data: bytes) -> dict[str, str]:
    """The id, type and correlation of an envelope, if the bytes are one at all."""
    try:
        raw = json.loads(data)
    except ValueError:
        return {}
    if not isinstance(raw, dict):
        return {}
    return {k: str(raw[k]) for k in ("id", "type", "correlation_id") if raw.get(k)}


def by_message(
    deliveries: Sequence[Delivery], outcomes: Sequence[Outcome]
) -> list[tuple[Msg, list[tuple[Delivery, Outcome]]]]:
    """The outcomes grouped by the message that delivered them (a carrier delivers several),
    in the batch's order."""
    grouped: dict[int, tuple[Msg, list[tuple[Delivery, Outcome]]]] = {}
    for delivery, outcome in zip(deliveries, outcomes, strict=True):
        grouped.setdefault(id(delivery.msg), (delivery.msg, []))[1].append((delivery, outcome))
    return list(grouped.values())


async def _in_progress(msgs: Sequence[Msg]) -> None:
    for msg in msgs:
        with suppress(Exception):
            await msg.in_progress()


@asynccontextmanager
async def working_on(msgs: Sequence[Msg], *, every_s: float) -> AsyncIterator[None]:
    """Keep the messages ours while a slow handler runs (e.g. a store waiting on a lock). A
    timer, not a task: nearly every handler is done long before it fires, and a task per batch
    cost more than the rest of this context."""
    keeper = _KeptInProgress(msgs, every_s=every_s)
    try:
        yield
    finally:
        await keeper.close()


class _KeptInProgress:
    """Says "in progress" for `msgs` every `every_s` until closed. An object, not a closure
    that schedules itself again: such a closure refers to itself, a reference cycle that left
    every batch (its messages, their metadata) for the garbage collector to find."""

    def __init__(self, msgs: Sequence[Msg], *, every_s: float) -> None:
        self._msgs = msgs
        self._every_s = every_s
        self._loop = asyncio.get_running_loop()
        self._ticks: list[asyncio.Task[None]] = []
        self._timer: asyncio.TimerHandle | None = self._loop.call_later(every_s, self._tick)

    def _tick(self) -> None:
        self._ticks.append(self._loop.create_task(_in_progress(self._msgs)))
        self._timer = self._loop.call_later(self._every_s, self._tick)

    async def close(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None  # the timer holds this object (its callback): no cycle left
        for task in self._ticks:  # settled next: no in-progress may follow the ack
            await stop(task)
