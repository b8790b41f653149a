"""The live event feed behind `GET /v1/stream`: one reader per gateway replica, fanned out.

Each replica reads the streams itself through ordered ephemeral JetStream consumers (no durable
state, no sticky sessions: any replica serves any client). A client's position is the last
stream sequence it was given in each source stream; a reconnecting client first gets what it
missed from JetStream (`replay`), then the live events, deduplicated by sequence, so nothing is
lost or repeated however the replay and the live feed overlap.

Every client has a bounded queue; the reader never waits for a client. A client whose queue is
full is cut off (its response ends) and resumes from its last id, so a slow reader slows no one.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy
from pydantic import ValidationError

from gateway.stream_events import CONTRACTS
from shared.events import Envelope

log = logging.getLogger(__name__)

# The source streams, in the order their sequences appear in a position ("12-40-3-7").
SOURCES = ("SCHOOL", "CASES", "OPS", "PATROL")
RETRY_S = 1.0  # between attempts to open the reader while NATS or the streams are not there
REPLAY_WAIT_S = 5.0  # for the next message of a replay before the position counts as gone


class Gone(Exception):
    """The position is older than what the streams still hold: reload from the REST API."""


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

    def at(self, stream: str, seq: int) -> Position:
        i = SOURCES.index(stream)
        return Position((*self[:i], max(self[i], seq), *self[i + 1 :]))

    def has(self, item: Item) -> bool:
        return item.seq <= self[SOURCES.index(item.stream)]


@dataclass
class Item:
    """One event as read from a stream; `shaped` caches its role-shaped form per audience."""

    stream: str
    seq: int
    at: float  # stream timestamp, to merge the sources of a replay in time order
    envelope: Envelope
    shaped: dict[str, Any] = field(default_factory=dict)
    # The replica's position just after this event (live events): the `id` every client that
    # has had all events before it is sent, so its frame is built once, not once per client.
    position: Position | None = None


class Beat:
    """The heartbeat marker the hub offers to idle clients."""


BEAT = Beat()


def item_of(msg: Msg) -> Item | None:
    meta = msg.metadata
    try:
        envelope = Envelope.model_validate_json(msg.data)
        model = CONTRACTS.get(envelope.type)
        if model is None or envelope.version != model.VERSION:
            return None
        model.model_validate(envelope.data)
    except ValidationError:
        return None
    return Item(meta.stream, meta.sequence.stream, meta.timestamp.timestamp(), envelope)


class Subscriber:
    """One client's bounded queue. `cut` is set when it overflowed; None in the queue = end."""

    def __init__(self, size: int) -> None:
        self.queue: asyncio.Queue[Item | Beat | None] = asyncio.Queue(maxsize=size + 1)
        self.size = size
        self.cut = False

    def offer(self, item: Item) -> None:
        if self.cut:
            return
        if self.queue.qsize() >= self.size:
            self.cut = True
            self.queue.put_nowait(None)  # the one slot kept free for the end marker
            return
        self.queue.put_nowait(item)

    def beat(self) -> None:
        """A heartbeat, unless events are waiting anyway."""
        if not self.cut and self.queue.empty():
            self.queue.put_nowait(BEAT)

    def end(self) -> None:
        if not self.cut:
            self.cut = True
            self.queue.put_nowait(None)


class Hub:
    """This replica's reader of the source streams and its clients."""

    def __init__(
        self, js: JetStreamContext, *, buffer: int, replay_max: int, heartbeat_s: float
    ) -> None:
        self._js = js
        self.buffer = buffer
        self.replay_max = replay_max
        self.heartbeat_s = heartbeat_s
        self.position = Position.zero()
        self.ready = asyncio.Event()
        self._subscribers: set[Subscriber] = set()
        self.on_item: list[Any] = []  # observers (the scope index) before the clients

    @property
    def clients(self) -> int:
        return len(self._subscribers)

    async def run(self) -> None:
        """Read every source from its current end until cancelled (a Background task)."""
        subs: list[JetStreamContext.PushSubscription] = []
        try:
            while not self.ready.is_set():
                try:
                    await self._open(subs)
                    self.ready.set()
                except Exception as exc:  # NATS or a stream not there yet: the feed waits
                    _raise_if_cancelled(exc)
                    log.warning("stream reader not open yet: %s", exc)
                    await _close(subs)
                    await asyncio.sleep(RETRY_S)
                # nats-py may swallow a cancellation that hits one of its requests.
                _raise_if_cancelled(None)
            # One timer for all clients, not a timeout around every client's wait.
            while True:
                await asyncio.sleep(self.heartbeat_s)
                for client in list(self._subscribers):
                    client.beat()
        finally:
            self.ready.clear()
            await _close(subs)
            for client in list(self._subscribers):
                client.end()

    async def _open(self, subs: list[JetStreamContext.PushSubscription]) -> None:
        ends = [(await self._js.stream_info(name)).state.last_seq for name in SOURCES]
        self.position = Position(ends)
        for name, end in zip(SOURCES, ends, strict=True):
            subs.append(await self._follow(name, end + 1))

    async def _follow(self, stream: str, start: int) -> JetStreamContext.PushSubscription:
        async def deliver(msg: Msg) -> None:
            self._take(msg)

        return await self._js.subscribe(
            "",
            stream=stream,
            cb=deliver,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=_start_at(start),
        )

    def _take(self, msg: Msg) -> None:
        self.position = self.position.at(msg.metadata.stream, msg.metadata.sequence.stream)
        item = item_of(msg)
        if item is None:
            return
        item.position = self.position
        for observe in self.on_item:
            observe(item)
        cut = []
        for client in self._subscribers:
            client.offer(item)
            if client.cut:
                cut.append(client)
        # Dropped here too: a response that never started never runs its own `leave`.
        self._subscribers.difference_update(cut)

    def join(self) -> tuple[Subscriber, Position]:
        """A new client and the position from which the live feed will serve it: everything
        up to it comes from `replay`. One synchronous step, so no event falls in between."""
        client = Subscriber(self.buffer)
        self._subscribers.add(client)
        return client, self.position

    def leave(self, client: Subscriber) -> None:
        self._subscribers.discard(client)

    async def replay(self, since: Position, until: Position) -> list[Item]:
        """The events after `since` up to `until`, merged in time order (each stream's own
        order kept). Raises Gone when a stream no longer holds them, or more than replay_max
        were missed (a client that far behind reloads the board instead)."""
        spans: list[tuple[str, int, int]] = []
        for name, have, end in zip(SOURCES, since, until, strict=True):
            if have >= end:
                continue
            state = (await self._js.stream_info(name)).state
            if have + 1 < state.first_seq or have > state.last_seq:
                raise Gone(f"{name} no longer holds events after {have}")
            spans.append((name, have + 1, end))
        if sum(end - start + 1 for _, start, end in spans) > self.replay_max:
            raise Gone(f"more than {self.replay_max} events were missed")
        runs = await asyncio.gather(*(self._read(*span) for span in spans))
        return list(heapq.merge(*runs, key=lambda item: item.at))

    async def _read(self, stream: str, start: int, end: int) -> list[Item]:
        sub = await self._js.subscribe(
            "",
            stream=stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=_start_at(start),
        )
        items: list[Item] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=REPLAY_WAIT_S)
                except nats.errors.TimeoutError as exc:  # removed while being read
                    raise Gone(f"{stream} no longer holds events after {start - 1}") from exc
                item = item_of(msg)
                if item is not None:
                    items.append(item)
                # The stream's end counts too: the message at `end` may have been removed.
                if msg.metadata.sequence.stream >= end or msg.metadata.num_pending == 0:
                    return items
        finally:
            await sub.unsubscribe()


def _raise_if_cancelled(cause: BaseException | None) -> None:
    task = asyncio.current_task()
    if task is not None and task.cancelling():
        raise asyncio.CancelledError from cause


async def _close(subs: list[JetStreamContext.PushSubscription]) -> None:
    while subs:
        await subs.pop().unsubscribe()


def _start_at(seq: int) -> ConsumerConfig:
    return ConsumerConfig(opt_start_seq=seq)


def fresh(items: list[Item], sent: Position) -> Iterator[Item]:
    """Items not yet sent, in order (a replay and the live feed may overlap)."""
    for item in items:
        if not sent.has(item):
            yield item
