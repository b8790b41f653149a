"""What the live feed is made of: a position in the source streams, and the items read from
them (an event each; a carrier's parts share its message's sequence, shared/carried.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from itertools import groupby
from typing import Any

from nats.aio.msg import Msg

from gateway.stream_events import CONTRACTS
from shared.carried import ForgedCarrier, unpacked
from shared.events import Envelope

log = logging.getLogger(__name__)

# The source streams, in the order their sequences appear in a position ("12-40-3-7").
SOURCES = ("SCHOOL", "CASES", "OPS", "PATROL")


class Position(tuple[int, ...]):
    """The last sequence seen in each source stream."""

    @classmethod
    def parse(cls, text: str) -> Position:
        """Raises ValueError for anything but one non-negative integer per source."""
        parts = text.strip().split("-")
        if len(parts) != len(SOURCES) or not all(p.isdigit() and len(p) <= 19 for p in parts):
            raise ValueError(f"a position is {len(SOURCES)} sequence numbers joined by '-'")
        return cls(int(p) for p in parts)

    @classmethod
    def zero(cls) -> Position:
        return cls(0 for _ in SOURCES)

    def encode(self) -> str:
        return "-".join(str(n) for n in self)

    def after(self, item: Item) -> Position:
        return self.at(item.stream, item.seq)

    def before(self, item: Item) -> Position:
        """Resuming here is sent `item`'s whole message again (and nothing before it)."""
        return self.at(item.stream, item.seq - 1)

    def at(self, stream: str, seq: int) -> Position:
        i = SOURCES.index(stream)
        return Position((*self[:i], max(self[i], seq), *self[i + 1 :]))

    def has(self, item: Item) -> bool:
        return item.seq <= self[SOURCES.index(item.stream)]


@dataclass
class Item:
    """One event as read from a stream (a carrier's parts share its seq and time); `shaped`
    caches its role-shaped form per audience."""

    stream: str
    seq: int
    at: float  # stream timestamp, to merge the sources of a replay in time order
    envelope: Envelope
    shaped: dict[str, Any] = field(default_factory=dict)
    # The replica's position just after this event's message (live events), and just before
    # it: the `id` every client that has had all before it is sent, so a frame is built once.
    position: Position | None = None
    before: Position | None = None


def items_of(msg: Msg) -> list[Item]:
    """The events a message announces, in order: itself, or a carrier's parts, each checked
    against its contract; none for a bad or forged carrier (nothing it holds is logged)."""
    meta = msg.metadata
    stream, seq = meta.stream, meta.sequence.stream
    try:
        envelopes = unpacked(Envelope.model_validate_json(msg.data))
    except ForgedCarrier:
        log.warning("a forged carrier in %s at %d was not shown", stream, seq)
        return []
    except ValueError:  # pydantic's ValidationError too
        return []
    at = meta.timestamp.timestamp()
    return [Item(stream, seq, at, envelope) for envelope in envelopes if _valid(envelope)]


def _valid(envelope: Envelope) -> bool:
    model = CONTRACTS.get(envelope.type)
    if model is None or envelope.version != model.VERSION:
        return False
    try:
        model.model_validate(envelope.data)
    except ValueError:
        return False
    return True


def messages(items: Sequence[Item]) -> Iterator[list[Item]]:
    """`items` a message at a time: the parts of one carrier are consecutive."""
    for _, parts in groupby(items, key=lambda item: (item.stream, item.seq)):
        yield list(parts)
