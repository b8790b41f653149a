"""Declare the durable consumers of `shared/streams.py`, and delete the retired ones (`RETIRED`)
without skipping or replaying history.

A successor declared for the first time starts where the slowest durable it replaces had got
to, not at the start of its stream (a new durable with `DeliverPolicy.ALL` would hand 400 days
of events to partner webhooks again): what none of them had processed is neither lost nor
doubled, and what a faster one had is not applied twice (the successor's process looks for
its marks, shared/handover.py). Then the retired durables are deleted: a deployment does not
keep them, and their backlog, forever; and the successor's metadata says up to which stream
sequence, and until when, they may have processed anything.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime

from nats.js import JetStreamContext
from nats.js.api import ConsumerInfo, DeliverPolicy
from nats.js.errors import NotFoundError

from shared.handover import AT, LAST_SEQ, PENDING, predecessors, stretch_of
from shared.streams import CONSUMERS, RETIRED, ConsumerSpec, Retired, consumer_config

log = logging.getLogger("hulei.deploy.durables")


async def _info(js: JetStreamContext, stream: str, durable: str) -> ConsumerInfo | None:
    try:
        info: ConsumerInfo = await js.consumer_info(stream, durable)
    except NotFoundError:
        return None
    return info


def first_unprocessed(info: ConsumerInfo, *, stream_last_seq: int) -> int:
    """The lowest stream sequence this durable may not have processed yet."""
    delivered = info.delivered.stream_seq if info.delivered else 0
    if info.num_ack_pending:
        # Something is in flight: from the ack floor (all below it acknowledged).
        return (info.ack_floor.stream_seq if info.ack_floor else 0) + 1
    if info.num_pending:
        return delivered + 1  # all it was sent is acknowledged; the rest comes after
    return stream_last_seq + 1  # caught up


async def _start_of(js: JetStreamContext, spec: ConsumerSpec, retired: Sequence[Retired]) -> int:
    """Where `spec` takes over from the retired durables it replaces; 0 if none exists."""
    last_seq = (await js.stream_info(spec.stream)).state.last_seq
    starts = [
        first_unprocessed(info, stream_last_seq=last_seq)
        for old in retired
        if old.successor == spec.durable
        and (info := await _info(js, old.stream, old.durable)) is not None
    ]
    return min(starts, default=0)


def _handover_of(metadata: dict[str, str] | None) -> dict[str, str] | None:
    """Ours of a consumer's metadata (the server adds its own `_nats.` keys)."""
    ours = {k: v for k, v in (metadata or {}).items() if k in (LAST_SEQ, AT)}
    return ours or None


async def declare_consumer(
    js: JetStreamContext, spec: ConsumerSpec, *, retired: Sequence[Retired] = RETIRED
) -> None:
    config = consumer_config(spec)
    existing = await _info(js, spec.stream, spec.durable)
    if existing is not None:
        # Updated in place (filters, limits); where it starts was fixed at its creation.
        start = existing.config
        config = replace(
            config,
            deliver_policy=start.deliver_policy,
            opt_start_seq=start.opt_start_seq,
            metadata=_handover_of(start.metadata),
        )
    elif seq := await _start_of(js, spec, retired):
        config = replace(
            config,
            deliver_policy=DeliverPolicy.BY_START_SEQUENCE,
            opt_start_seq=seq,
            metadata={LAST_SEQ: PENDING},  # until its predecessors are deleted (`settle`)
        )
        log.info(
            "%s starts at %s seq %d, taking over from retired durables",
            spec.durable,
            spec.stream,
            seq,
        )
    await js.add_consumer(spec.stream, config)


async def retire(js: JetStreamContext, retired: Sequence[Retired] = RETIRED) -> list[str]:
    """Delete the retired durables still there, once their successors exist; their names."""
    deleted = []
    for old in retired:
        if await _info(js, old.stream, old.successor) is None:
            continue  # never without its successor: it would take the backlog with it
        try:
            await js.delete_consumer(old.stream, old.durable)
        except NotFoundError:
            continue
        deleted.append(old.durable)
    return deleted


async def settle(
    js: JetStreamContext, spec: ConsumerSpec, retired: Sequence[Retired] = RETIRED
) -> int | None:
    """Once every durable `spec` replaced is deleted, write into its metadata the last sequence
    they can have processed, the stream's last now (an old process still running held nothing
    later), and the time (shared/handover.py). That sequence, or None while it cannot be known
    yet."""
    info = await _info(js, spec.stream, spec.durable)
    if info is None or stretch_of(info.config.metadata) is not None:
        return None  # absent, took over from nobody, or settled already
    for old in predecessors(spec, retired):
        if await _info(js, spec.stream, old) is not None:
            return None
    last = (await js.stream_info(spec.stream)).state.last_seq
    start = info.config
    config = replace(
        consumer_config(spec),
        deliver_policy=start.deliver_policy,
        opt_start_seq=start.opt_start_seq,
        metadata={LAST_SEQ: str(last), AT: datetime.now(UTC).isoformat()},
    )
    await js.add_consumer(spec.stream, config)
    return last


async def declare_consumers(
    js: JetStreamContext,
    consumers: Sequence[ConsumerSpec] = CONSUMERS,
    retired: Sequence[Retired] = RETIRED,
) -> list[str]:
    """Every durable declared (successors first placed), then the retired ones deleted and
    the stretch their successors look for their marks over settled."""
    for spec in consumers:
        await declare_consumer(js, spec, retired=retired)
    deleted = await retire(js, retired)
    for spec in consumers:
        await settle(js, spec, retired)
    return deleted
