"""Events carried by another (shared.events.Carrier): what a reader of a stream is handed.

A carrier is one stored message for several events, so a report's intake costs one publish and
one delivery per consumer, not four or more. Readers (the durable consumers, the gateway's live
stream) unpack it and handle the carried events as if each had come alone: same ids (so the
processed marks, webhooks and the feed are unchanged), same types, same contracts.
"""

from __future__ import annotations

from collections.abc import Sequence

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


# What one merged carrier holds at most: an intake's events are ~0.5 KB each, so ~100 KB, a
# tenth of the message size NATS allows by default.
MERGED_MOST = 200


def merged(envelopes: Sequence[Envelope], *, most: int = MERGED_MOST) -> list[Envelope]:
    """`envelopes` as they are stored: consecutive carriers of one subject and source become one
    carrier of all their events, in order (at most `most` a carrier). A consumer taking a batch
    of reports in one transaction so publishes its intakes as one message, not one each: one
    stored message, fsync and delivery per consumer for the batch. The merged carrier keeps the
    first one's envelope (its id, correlation and trace); the carried events keep their own,
    and they are all any reader is handed."""
    out: list[Envelope] = []
    for envelope in envelopes:
        last = out[-1] if out else None
        if (
            last is not None
            and envelope.nats_subject in CARRIERS
            and envelope.nats_subject == last.nats_subject
            and envelope.source == last.source
            and len(last.data["events"]) + len(envelope.data["events"]) <= most
        ):
            events = [*last.data["events"], *envelope.data["events"]]
            out[-1] = last.model_copy(update={"data": {**last.data, "events": events}})
        else:
            out.append(envelope)
    return out
