"""Processed marks: a consumer's record of the events it applied (`processed_events`, keyed by
durable and event id), written in the transaction of their effects, so an event delivered again
is recognised and applied once (shared/runtime.py)."""

from __future__ import annotations

from collections.abc import Sequence

from shared.delivery import Delivery
from shared.events import utcnow
from shared.handover import Handover
from shared.store import Writer
from shared.streams import ConsumerSpec

PROCESSED = "processed_events"


class Marks:
    """The processed marks of one batch's transaction: read in one query before its effects,
    written in one statement after them (a query and an insert per event cost more than the
    effect of a small one). Checked and written in the effects' transaction: a concurrent
    duplicate (another replica) conflicts, is run again, and finds the mark; a repeat within
    the batch sees the first one's."""

    def __init__(self, durable: str, handover: Handover, found: set[str]) -> None:
        self._durable = durable
        self._handover = handover
        self._found = found
        self._new: list[dict[str, str]] = []
        self._at = utcnow().isoformat()

    @classmethod
    async def read(
        cls, tx: Writer, spec: ConsumerSpec, batch: Sequence[Delivery], handover: Handover
    ) -> Marks:
        wanted = [m for d in batch for m in (_marker(spec.durable, d), *handover.markers(d))]
        if len(wanted) == 1:  # an event alone: a point read is cheaper than a query
            found = [doc] if (doc := await tx.get(PROCESSED, wanted[0])) else []
        else:
            found = await tx.find(PROCESSED, where={"id": wanted})
        return cls(spec.durable, handover, {doc["id"] for doc in found})

    def first(self, delivery: Delivery) -> bool:
        """Whether this consumer (or a durable it replaced) has not processed the event yet;
        if so it is marked."""
        marker = _marker(self._durable, delivery)
        if marker in self._found or any(m in self._found for m in self._handover.markers(delivery)):
            return False
        self._found.add(marker)
        self._new.append({"id": marker, "at": self._at})
        return True

    async def write(self, tx: Writer) -> None:
        await tx.insert_many(PROCESSED, self._new)


def _marker(durable: str, delivery: Delivery) -> str:
    return f"{durable}:{delivery.envelope.id}"
