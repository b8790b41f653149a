"""How fast a consumer's events come, for the consumer that gathers only while busy.

A report becoming tasks is work someone waits on, so its consumer takes each event the moment
it comes. Under load that is a transaction, a commit and a pull for every report, where a few
milliseconds' wait would share them between several: PostgreSQL's `commit_delay` makes the
same trade, and only while `commit_siblings` transactions are active. Here the consumer waits
(`ConsumerSpec.gather_busy_s`) only while events came faster than `busy_per_s` over the last
quarter of a second; at the rates a station sees, nothing waits.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from shared.streams import ConsumerSpec

# How far back the rate is counted: short, so that a burst's end (or a backlog caught up) stops
# the waiting within a quarter of a second, not after a whole second of slow reports waiting.
SPAN_S = 0.25


@dataclass
class Pace:
    """The events taken over the last `SPAN_S`, batch by batch."""

    _taken: deque[tuple[float, int]] = field(default_factory=deque)
    _count: int = 0

    def took(self, events: int, *, now: float) -> None:
        if events:
            self._taken.append((now, events))
            self._count += events
        self._forget(now)

    def per_s(self, *, now: float) -> float:
        self._forget(now)
        return self._count / SPAN_S

    def _forget(self, now: float) -> None:
        while self._taken and self._taken[0][0] <= now - SPAN_S:
            self._count -= self._taken.popleft()[1]


def gather_window_s(spec: ConsumerSpec, pace: Pace, *, now: float) -> float:
    """How long to wait for more before handling what came: the spec's window for work nobody
    waits on; for work someone does, its busy window while events come fast, else none."""
    if spec.gather_s:
        return spec.gather_s
    if spec.gather_busy_s and pace.per_s(now=now) >= spec.busy_per_s:
        return spec.gather_busy_s
    return 0.0
