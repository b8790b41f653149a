"""Durable timers on JetStream message schedules (nats-server >= 2.12, ADR-51).

A timer is an event published later: its envelope is stored now as a schedule message on
`timer.schedule.<key>` (the TIMERS stream allows schedules) and the server publishes it to the
envelope's own subject at the given time. The schedule is a stored message, so it survives
restarts of every process and of the server; one key holds one schedule (a new one replaces
it), so a timer is moved by scheduling its key again. The fired event is consumed like any
other, through an idempotent durable consumer: it takes effect once however many replicas run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from shared.events import Envelope

SCHEDULE_PREFIX = "timer.schedule"


@dataclass(frozen=True)
class Timer:
    envelope: Envelope  # published on its own subject (under timer.>) when due
    key: str  # names the schedule: dot-separated tokens without wildcards
    at: datetime

    @property
    def subject(self) -> str:
        return f"{SCHEDULE_PREFIX}.{self.key}"

    def headers(self) -> dict[str, str]:
        at = self.at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        return {"Nats-Schedule": f"@at {at}", "Nats-Schedule-Target": self.envelope.nats_subject}
