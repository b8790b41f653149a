"""A successor durable (shared/streams.RETIRED) applies nothing again that the durables it
replaced had processed.

The declarer (deploy/durables.py) starts a successor where the slowest of them had got to, so
it may be sent what a faster one had processed already. Their marks are in this process's
store (`processed_events`, keyed by durable and event), so over that stretch the successor
looks for them too: a filed report does not open its tasks twice, a planned visit is not reset.
The stretch ends at the stream's last sequence once they were deleted, which the declarer writes
into the successor's metadata (`UNTIL`); past it nothing is looked up, and a successor that
replaced nothing (or was declared before this) never looks.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Sequence

from nats.js import JetStreamContext

from shared.consumer import Delivery
from shared.streams import RETIRED, ConsumerSpec, Retired

log = logging.getLogger("hulei.handover")
UNTIL = "hulei.handover.until"  # consumer metadata: a stream sequence, or PENDING
PENDING = "pending"  # its predecessors are not deleted yet: whatever it is sent may be theirs


def predecessors(spec: ConsumerSpec, retired: Sequence[Retired] = RETIRED) -> tuple[str, ...]:
    return tuple(
        r.durable for r in retired if r.stream == spec.stream and r.successor == spec.durable
    )


def until(metadata: dict[str, str] | None) -> float | None:
    """The last stream sequence predecessors may have processed; None while not final."""
    value = (metadata or {}).get(UNTIL)
    if value is None:
        return 0  # it took over from nobody
    if value == PENDING:
        return None
    return int(value)


class Handover:
    """What one successor looks for besides its own marks (nothing for most durables)."""

    def __init__(self, spec: ConsumerSpec, retired: Sequence[Retired] = RETIRED) -> None:
        self._spec = spec
        self._predecessors = predecessors(spec, retired)
        # Every sequence until the metadata is read; nothing at all without predecessors.
        self._until: float = math.inf if self._predecessors else 0
        self._final = not self._predecessors

    async def refresh(self, js: JetStreamContext) -> None:
        """Read where the stretch ends, until it is final (one request at start)."""
        if self._final:
            return
        try:
            info = await js.consumer_info(self._spec.stream, self._spec.durable, timeout=2.0)
        except Exception as exc:  # the fetch that follows will see a lasting fault
            log.warning("handover of %s not read: %r", self._spec.durable, exc)
            return
        end = until(info.config.metadata)
        self._final = end is not None
        self._until = math.inf if end is None else end

    def markers(self, delivery: Delivery) -> list[str]:
        """The predecessors' marks that would say this event was processed already."""
        if not self._until or delivery.msg.metadata.sequence.stream > self._until:
            return []
        return [f"{old}:{delivery.envelope.id}" for old in self._predecessors]
