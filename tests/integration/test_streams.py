"""Streams and consumers are declared from one definition, single node or an R3 cluster."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from deploy.launcher import Platform, Ports
from deploy.streams import declare
from shared.bus import Bus
from shared.contracts.cases import ReportLinked
from shared.events import Envelope
from shared.nats_auth import ADMIN
from shared.streams import CONSUMERS, STREAMS


def linked(n: int) -> Envelope:
    data = ReportLinked(report_id=f"rep-{n}", case_id=f"case-{n}")
    return Envelope.wrap(
        data, source="case_tracking", subject=f"rep-{n}", correlation_id=f"rep-{n}"
    )


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Platform]:
    platform = Platform(var_dir=tmp_path / "cluster", ports=Ports.free(), nats_nodes=3)
    platform.var_dir.mkdir(parents=True)
    platform.start_nats()
    try:
        yield platform
    finally:
        platform.stop()


async def declared(platform: Platform, replicas: int) -> Bus:
    admin = platform.credentials(ADMIN)
    await declare(platform.nats_url, replicas, **admin)
    bus = Bus(url=platform.nats_url, name="check", replicas=replicas, **admin)
    await bus.connect()
    for spec in STREAMS:
        info = await bus.js.stream_info(spec.name)
        assert info.config.subjects == list(spec.subjects)
        assert info.config.num_replicas == replicas
        assert info.config.max_age == spec.max_age_days * 86400
    for consumer in CONSUMERS:
        info = await bus.js.consumer_info(consumer.stream, consumer.durable)
        filters = info.config.filter_subjects or [info.config.filter_subject]
        assert filters == list(consumer.subjects)
    return bus


async def test_the_declare_command_creates_every_stream_and_consumer(
    nats_server: Platform,
) -> None:
    bus = await declared(nats_server, 1)
    # Declaring again changes nothing and does not fail.
    await declare(nats_server.nats_url, 1, **nats_server.credentials(ADMIN))
    await bus.close()


async def test_an_r3_cluster_keeps_accepting_events_with_one_node_down(
    cluster: Platform,
) -> None:
    bus = await declared(cluster, 3)
    try:
        await bus.publish(linked(1))
        cluster.kill("nats-1")
        for n in range(2, 12):  # the client moves to a surviving node; quorum is 2 of 3
            await bus.publish(linked(n))
        cluster.start_nats(0)
        await bus.publish(linked(12))
        state = (await bus.js.stream_info("CASES")).state
        assert state.messages == 12
    finally:
        await bus.close()
