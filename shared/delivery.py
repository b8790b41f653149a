"""What a consumer hands its handler: a decoded message (`Delivery`) with the trace its
publisher sent, and what the handler answers for it (`Outcome`). Kept apart from the pull loop
(shared/consumer.py) so that the runtime's parts that look at deliveries (processed marks,
hand-overs) need not import it."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

from nats.aio.msg import Msg
from opentelemetry import context as otel_context
from opentelemetry.trace import SpanKind, Tracer, get_current_span

from shared.events import Envelope
from shared.telemetry import extract, records_spans

# A handler returns False when it recognised the event as already handled (a duplicate).
Handler = Callable[[Envelope], Awaitable[bool | None]]
# Per event of a batch: True or None handled, False a duplicate, an exception a failure.
Outcome = bool | None | Exception


@dataclass(frozen=True)
class Delivery:
    """One decoded message of a batch, with the trace its publisher sent along."""

    envelope: Envelope
    msg: Msg
    durable: str
    tracer: Tracer

    @contextmanager
    def traced(self) -> Iterator[None]:
        """The span of handling this event, a child of the publisher's trace. When the tracer
        records nothing (no exporter) and the publisher sent a trace, no span is made: that
        trace is made current, so what the handler logs or announces still carries its id."""
        parent = extract(self.msg.headers)
        if not records_spans(self.tracer) and get_current_span(parent).get_span_context().is_valid:
            token = otel_context.attach(parent)
            try:
                yield
            finally:
                otel_context.detach(token)
            return
        with self.tracer.start_as_current_span(
            f"consume {self.msg.subject}", context=parent, kind=SpanKind.CONSUMER
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
