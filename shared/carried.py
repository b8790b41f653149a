"""Events carried by another (shared.events.Carrier): what a reader of a stream is handed.

A carrier is one stored message for several events, so a report's intake costs one publish and
one delivery per consumer, not four or more. Readers (the durable consumers, the gateway's live
stream) unpack it and handle the carried events as if each had come alone: same ids (so the
processed marks, webhooks and the feed are unchanged), same types, same contracts.
"""

from __future__ import annotations

from shared.contracts.cases import IntakeRecorded
from shared.events import Carrier, Envelope
from shared.streams import CARRIED, matches_any, publishers_of

# Carriers by versioned subject, the contracts of shared/streams.CARRIED's. A carrier not
# listed here would reach handlers as an unknown type and be skipped: every one must be
# (tests/unit/shared/test_carried.py).
CARRIERS: dict[str, type[Carrier]] = {IntakeRecorded.nats_subject(): IntakeRecorded}


class ForgedCarrier(ValueError):
    """A carried event its carrier may not hold, or its publisher may not announce."""


def unpacked(envelope: Envelope) -> list[Envelope]:
    """The events `envelope` announces: those it carries, or itself alone. Raises ValueError
    for a carrier that does not decode, ForgedCarrier for one that carries another publisher's
    event or one it may not hold (the server checked the carrier's subject, not what it
    holds)."""
    model = CARRIERS.get(envelope.nats_subject)
    if model is None:
        return [envelope]
    events = envelope.parse(model).events
    for event in events:
        if event.nats_subject not in CARRIED[envelope.nats_subject]:
            raise ForgedCarrier(f"{envelope.nats_subject} may not hold {event.nats_subject}")
        if event.source != envelope.source or event.source not in publishers_of(event.nats_subject):
            raise ForgedCarrier(f"source {event.source!r} may not publish {event.nats_subject}")
    return events


def handed(envelope: Envelope, subjects: tuple[str, ...]) -> list[Envelope]:
    """What a consumer filtering on `subjects` is handed of `envelope`: an event alone as it
    is (the server filtered it), of a carrier the events its subjects match (a carrier is
    delivered to every consumer of one of its events). Raises as `unpacked`."""
    if envelope.nats_subject not in CARRIERS:
        return [envelope]
    events = unpacked(envelope)
    return [e for e in events if matches_any(subjects, e.nats_subject)]
