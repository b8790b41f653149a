"""A task's deadlines by agency and risk: when it must be acknowledged, when the supervisor
hears of it if it is not, when it is due. Configurable, and scaled as a whole for tests."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from shared.contracts.cases import Agency
from shared.contracts.school import Severity

# How soon each agency must act, by risk level.
RESPONSE_TIME: dict[Agency, dict[Severity, timedelta]] = {
    Agency.police: {
        Severity.critical: timedelta(minutes=30),
        Severity.high: timedelta(hours=4),
        Severity.medium: timedelta(hours=24),
        Severity.low: timedelta(hours=72),
    },
    Agency.social_work: {
        Severity.critical: timedelta(hours=4),
        Severity.high: timedelta(hours=24),
        Severity.medium: timedelta(hours=72),
        Severity.low: timedelta(days=7),
    },
}


# How soon an assignee must take a task up, by risk, before the desk is told.
ACK_WINDOW: dict[Severity, timedelta] = {
    Severity.critical: timedelta(minutes=5),
    Severity.high: timedelta(minutes=30),
    Severity.medium: timedelta(hours=4),
    Severity.low: timedelta(hours=24),
}


@dataclass(frozen=True)
class Deadlines:
    """`scale` multiplies every deadline (tests run the ladder in seconds); the supervisor is
    told `supervisor_factor` ack windows after the task started."""

    ack: Mapping[Severity, timedelta] = field(default_factory=lambda: dict(ACK_WINDOW))
    response: Mapping[Agency, Mapping[Severity, timedelta]] = field(
        default_factory=lambda: dict(RESPONSE_TIME)
    )
    supervisor_factor: float = 2.0
    scale: float = 1.0

    def clock(self, agency: Agency, risk: Severity, *, start: datetime) -> Clock:
        ack = self.ack[risk] * self.scale
        return Clock(
            ack_due_at=start + ack,
            escalate_at=start + ack * self.supervisor_factor,
            due_at=start + self.response[agency][risk] * self.scale,
        )


@dataclass(frozen=True)
class Clock:
    ack_due_at: datetime
    escalate_at: datetime
    due_at: datetime
