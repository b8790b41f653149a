"""A successor durable (shared/streams.RETIRED) applies nothing again that the durables it
replaced had processed.

The declarer (deploy/durables.py) starts a successor where the slowest of them had got to, so
it may be sent what a faster one had processed already; and a dead letter replayed later puts
an old event on the stream again, past that. Their marks are in this process's store
(`processed_events`, keyed by durable and event), so for such events the successor looks for
them too: a filed report does not open its tasks twice, a planned visit is not reset. Once they
are deleted the declarer writes into the successor's metadata the stream's last sequence and
the time (`LAST_SEQ`, `AT`): events up to that sequence, or made before that time (give or take
`SKEW`), are looked up; nothing later is, and a successor that replaced nobody never looks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from nats.js import JetStreamContext

from shared.delivery import Delivery
from shared.streams import RETIRED, ConsumerSpec, Retired

log = logging.getLogger("hulei.handover")
LAST_SEQ = "hulei.handover.last_seq"  # consumer metadata: a stream sequence, or PENDING
AT = "hulei.handover.at"  # when the predecessors were deleted (ISO 8601)
PENDING = "pending"  # the predecessors are not deleted yet: whatever it is sent may be theirs
SKEW = timedelta(minutes=10)  # between the publishers' clocks and the declarer's


def predecessors(spec: ConsumerSpec, retired: Sequence[Retired] = RETIRED) -> tuple[str, ...]:
    return tuple(
        r.durable for r in retired if r.stream == spec.stream and r.successor == spec.durable
    )


@dataclass(frozen=True)
class Stretch:
    """The events a predecessor may have processed: up to `last_seq`, or made before `before`."""

    last_seq: float
    before: datetime | None = None

    def covers(self, delivery: Delivery) -> bool:
        if delivery.msg.metadata.sequence.stream <= self.last_seq:
            return True
        return self.before is not None and delivery.envelope.time < self.before


NOTHING = Stretch(0)
EVERYTHING = Stretch(math.inf)


def stretch_of(metadata: dict[str, str] | None) -> Stretch | None:
    """What a successor's metadata says; None while its predecessors are not deleted."""
    value = (metadata or {}).get(LAST_SEQ)
    if value is None:
        return NOTHING  # it took over from nobody
    if value == PENDING:
        return None
    at = (metadata or {}).get(AT)
    return Stretch(int(value), datetime.fromisoformat(at) + SKEW if at else None)


class Handover:
    """What one successor looks for besides its own marks (nothing for most durables)."""

    def __init__(self, spec: ConsumerSpec, retired: Sequence[Retired] = RETIRED) -> None:
        self._spec = spec
        self._predecessors = predecessors(spec, retired)
        # Every event until the metadata is read; nothing at all without predecessors.
        self._stretch = EVERYTHING if self._predecessors else NOTHING
        self._final = not self._predecessors

    async def refresh(self, js: JetStreamContext) -> None:
        """Read the stretch until it is final (one request at start)."""
        if self._final:
            return
        try:
            info = await js.consumer_info(self._spec.stream, self._spec.durable, timeout=2.0)
        except Exception as exc:  # the fetch that follows will see a lasting fault
            log.warning("hand-over of %s not read: %r", self._spec.durable, exc)
            return
        stretch = stretch_of(info.config.metadata)
        self._final = stretch is not None
        self._stretch = stretch or EVERYTHING

    def markers(self, delivery: Delivery) -> list[str]:
        """The predecessors' marks that would say this event was processed already."""
        if self._stretch is NOTHING or not self._stretch.covers(delivery):
            return []
        return [f"{old}:{delivery.envelope.id}" for old in self._predecessors]
