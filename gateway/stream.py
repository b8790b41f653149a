"""The live event feed behind `GET /v1/stream`: one reader per gateway replica, fanned out.

Each replica reads the streams itself through ordered ephemeral JetStream consumers (no durable
state, no sticky sessions: any replica serves any client). A client's position is the last
stream sequence it was given in each source stream; a reconnecting client first gets what it
missed from JetStream (`replay`), then the live events, deduplicated by sequence, so nothing is
lost or repeated however the replay and the live feed overlap.

Every client has a bounded queue; the reader never waits for a client. A client whose queue is
full is cut off (its response ends) and resumes from its last id, so a slow reader slows no one.

A carrier (shared/carried.py) is one message for several events: an item each, sharing its
sequence, offered to a client together or not at all (ids: gateway/stream_api.py `frames`).
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Sequence
from itertools import chain
from typing import Any

import nats.errors
from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy

from gateway.stream_items import SOURCES, Item, Position, items_of

log = logging.getLogger(__name__)

RETRY_S = 1.0  # between attempts to open the reader while NATS or the streams are not there
REPLAY_WAIT_S = 5.0  # for the next message of a replay before the position counts as gone


class Gone(Exception):
    """The position is older than what the streams still hold: reload from the REST API."""


class Beat:
    """The heartbeat marker the hub offers to idle clients."""


BEAT = Beat()


class Subscriber:
    """One client's bounded queue. `cut` is set when it overflowed; None in the queue = end."""

    def __init__(self, size: int) -> None:
        # Bounded by `offer_all`, to `size` items or one message.
        self.queue: asyncio.Queue[Item | Beat | None] = asyncio.Queue()
        self.size = size
        self.cut = False

    def offer_all(self, items: Sequence[Item]) -> None:
        """A message's parts, all or none: a client that cannot take them all is cut before the
        message (a message larger than the buffer is taken into an empty queue)."""
        if self.cut:
            return
        queued = self.queue.qsize()
        if queued and queued + len(items) > self.size:
            self.cut = True
            self.queue.put_nowait(None)
            return
        for item in items:
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
        items = items_of(msg)
        stream, seq = msg.metadata.stream, msg.metadata.sequence.stream
        before, self.position = self.position.at(stream, seq - 1), self.position.at(stream, seq)
        if not items:
            return
        for item in items:
            item.position, item.before = self.position, before
            for observe in self.on_item:
                observe(item)
        cut = []
        for client in self._subscribers:
            client.offer_all(items)
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
        # Counted in messages (sequences): a carrier is one, however many events it holds.
        if sum(end - start + 1 for _, start, end in spans) > self.replay_max:
            raise Gone(f"more than {self.replay_max} events were missed")
        runs = await asyncio.gather(*(self._read(*span) for span in spans))
        # Merged a message at a time, so a carrier's parts stay together.
        merged = heapq.merge(*runs, key=lambda parts: parts[0].at)
        return list(chain.from_iterable(merged))

    async def _read(self, stream: str, start: int, end: int) -> list[list[Item]]:
        sub = await self._js.subscribe(
            "",
            stream=stream,
            ordered_consumer=True,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            config=_start_at(start),
        )
        runs: list[list[Item]] = []
        try:
            while True:
                try:
                    msg = await sub.next_msg(timeout=REPLAY_WAIT_S)
                except nats.errors.TimeoutError as exc:  # removed while being read
                    raise Gone(f"{stream} no longer holds events after {start - 1}") from exc
                if items := items_of(msg):
                    runs.append(items)
                # The stream's end counts too: the message at `end` may have been removed.
                if msg.metadata.sequence.stream >= end or msg.metadata.num_pending == 0:
                    return runs
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
