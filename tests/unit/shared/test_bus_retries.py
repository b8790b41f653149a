"""The bus's retry rules (no server: the JetStream answers are scripted; the bus against a real
NATS that goes away is in tests/integration/test_connection_faults.py)."""

from __future__ import annotations

from typing import Any

import nats.errors
import pytest

from shared import bus as bus_module
from shared.bus import Bus
from shared.contracts.ops import DeadLettered
from shared.events import Envelope


class _JetStream:
    """Fails the first `failures` calls with `error`, then acknowledges."""

    def __init__(self, failures: int, error: Exception) -> None:
        self.failures, self.error = failures, error
        self.calls: list[dict[str, Any]] = []

    async def publish(self, subject: str, _payload: bytes, **kwargs: Any) -> None:
        self.calls.append({"subject": subject, **kwargs})
        if len(self.calls) <= self.failures:
            raise self.error


def _bus(js: _JetStream) -> Bus:
    bus = Bus(url="nats://127.0.0.1:1", name="ops")
    bus._js = js  # type: ignore[assignment]
    return bus


def _event() -> Envelope:
    alert = DeadLettered(
        dead_letter_id=1,
        consumer="c",
        original_subject="s",
        event_id=None,
        event_type=None,
        reason="r",
        deliveries=2,
    )
    return Envelope.wrap(alert, source="ops", subject="1", correlation_id="corr")


async def test_a_publish_that_timed_out_is_retried_with_the_same_message_id() -> None:
    js = _JetStream(failures=2, error=nats.errors.TimeoutError())
    bus, event = _bus(js), _event()
    await bus.publish(event)
    assert [c["headers"]["Nats-Msg-Id"] for c in js.calls] == [event.id] * 3
    assert bus._metrics.events_published.labels("ops", event.type)._value.get() == 1


async def test_a_publish_gives_up_with_the_timeout_after_its_deadline(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(bus_module, "PUBLISH_RETRY_WITHIN_S", 0.0)
    js = _JetStream(failures=100, error=nats.errors.TimeoutError())
    with pytest.raises(nats.errors.TimeoutError):
        await _bus(js).publish(_event())
    assert len(js.calls) == 1


async def test_a_publish_refused_for_another_reason_is_not_retried() -> None:
    js = _JetStream(failures=1, error=nats.errors.NoRespondersError())
    with pytest.raises(nats.errors.NoRespondersError):
        await _bus(js).publish(_event())
    assert len(js.calls) == 1
