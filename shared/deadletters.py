"""Dead letters: list what the consumers gave up on, and replay one after the cause is fixed.

A replay republishes the original event to its original subject under a new message id.
Every consumer of that subject sees it again; those that handled it before skip it (their
processed-event record), the one that failed gets another chance.

The republish and the delete go through the `replayer` bus: the one NATS identity allowed to
publish any event subject and to delete a dead letter (shared/nats_auth.py). The gateway's own
bus reads the letters and announces the replay.
"""

from __future__ import annotations

import asyncio

import nats.js.errors
from nats.js.api import RawStreamMsg

from shared.bus import Bus
from shared.contracts.ops import DeadLetteredView, DeadLetterReplayed
from shared.delivery import peek_envelope
from shared.events import Envelope

STREAM = "DEADLETTER"


def _view(msg: RawStreamMsg) -> DeadLetteredView:
    headers = msg.headers or {}
    original = peek_envelope(msg.data or b"")
    return DeadLetteredView(
        id=msg.seq or 0,
        consumer=headers.get("Hulei-Consumer", ""),
        original_subject=headers.get("Hulei-Original-Subject", ""),
        event_id=original.get("id"),
        event_type=original.get("type"),
        reason=headers.get("Hulei-Reason", ""),
        deliveries=int(headers.get("Hulei-Deliveries", "0")),
        dead_lettered_at=msg.time,
    )


async def _get(bus: Bus, seq: int) -> RawStreamMsg | None:
    if seq < 1:
        return None
    try:
        return await bus.js.get_msg(STREAM, seq)
    except (nats.js.errors.NotFoundError, nats.js.errors.BadRequestError):
        return None


async def list_dead_letters(
    bus: Bus, *, limit: int = 100, before: int | None = None
) -> list[DeadLetteredView]:
    """Newest first, from below the letter `before` (a page's last id) if given. Replayed
    letters are deleted from the stream, so gaps are skipped."""
    state = (await bus.js.stream_info(STREAM)).state
    wanted = min(limit, state.messages)
    found: list[DeadLetteredView] = []
    seq = state.last_seq if before is None else min(state.last_seq, before - 1)
    while len(found) < wanted and seq >= state.first_seq:
        # The next window of sequence numbers at once, not one round trip after another.
        window = range(seq, max(seq - (wanted - len(found)), state.first_seq - 1), -1)
        for msg in await asyncio.gather(*(_get(bus, n) for n in window)):
            if msg is not None:
                found.append(_view(msg))
        seq = window[-1] - 1
    return found[:wanted]


async def replay_dead_letter(
    bus: Bus, *, replayer: Bus, seq: int, by: str
) -> DeadLetteredView | None:
    msg = await _get(bus, seq)
    if msg is None:
        return None
    view = _view(msg)
    headers = {"Nats-Msg-Id": f"replay:{seq}"}
    await replayer.js.publish(view.original_subject, msg.data or b"", headers=headers)
    replayed = DeadLetterReplayed(
        dead_letter_id=seq,
        consumer=view.consumer,
        original_subject=view.original_subject,
        event_id=view.event_id,
        replayed_by=by,
    )
    envelope = Envelope.wrap(
        replayed, source="gateway", subject=str(seq), correlation_id=view.event_id or str(seq)
    )
    await bus.publish(envelope.model_copy(update={"id": f"dl-replayed-{seq}"}))
    await replayer.js.delete_msg(STREAM, seq)
    return view
