"""The NATS wall, enforced by a real server: who may connect, publish, pull and manage streams.

Written against hand-picked subjects rather than shared/nats_auth.py's own lists, so a definition
that grows too loose fails here. The defence in depth behind it (a consumer dead-letters an event
whose `source` does not own its subject) is proven with events the replayer may publish.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import nats
import nats.errors
import pytest
from nats.aio.client import Client

from deploy.launcher import Platform
from shared.bus import Bus
from shared.contracts.cases import ReportLinked
from shared.contracts.school import ChildErased
from shared.deadletters import list_dead_letters
from shared.events import Envelope, EventData
from shared.nats_auth import ADMIN, REPLAYER, inbox_prefix
from shared.streams import CONSUMERS, STREAMS, subject_matches
from tests.support import Gateway, eventually

# One event subject per owner; every other identity must be refused on it.
OWNED = {
    "school_liaison": ["school.report.filed.v1", "school.child.erased.v1"],
    "case_tracking": ["case.report.linked.v1", "task.created.v1"],
    "patrol": ["patrol.welfare_check.done.v1"],
    "notifications": [],  # publishes only the dead-letter alert, which every process may
    "gateway": ["ops.dead_letter.replayed.v1", "audit.checkpoint.v1"],
}
# Stream and consumer management: only admin.
ADMIN_APIS = [
    "$JS.API.STREAM.CREATE.EVIL",
    "$JS.API.STREAM.UPDATE.SCHOOL",
    "$JS.API.STREAM.DELETE.SCHOOL",
    "$JS.API.STREAM.PURGE.CASES",
    "$JS.API.STREAM.MSG.DELETE.SCHOOL",
    "$JS.API.CONSUMER.CREATE.SCHOOL",
    "$JS.API.CONSUMER.CREATE.SCHOOL.evil.school.>",
    "$JS.API.CONSUMER.DURABLE.CREATE.SCHOOL.evil",
    "$JS.API.CONSUMER.DELETE.SCHOOL.case_tracking-school",
]
GATEWAY_EPHEMERAL = ["$JS.API.CONSUMER.CREATE.SCHOOL"]


def forbidden_for(user: str) -> list[str]:
    others = [s for owner, subjects in OWNED.items() if owner != user for s in subjects]
    if user == REPLAYER:  # republishes any event, but nothing of the gateway's own
        others = ["audit.checkpoint.v1", "deadletter.case_tracking-school"]
    # Someone else's durable: pulling from it would read events meant for another service.
    theirs = "case_tracking-school" if user != "case_tracking" else "gateway-erasures"
    pull = f"$JS.API.CONSUMER.MSG.NEXT.SCHOOL.{theirs}"
    admin_apis = ADMIN_APIS
    if user == "gateway":  # ephemeral consumers for the event stream; no durable (below)
        admin_apis = [a for a in ADMIN_APIS if a not in GATEWAY_EPHEMERAL]
    return [*others, *admin_apis, pull, f"deadletter.{theirs}"]


class Errors:
    def __init__(self) -> None:
        self.seen: list[str] = []

    async def on_error(self, exc: Exception) -> None:
        self.seen.append(str(exc))

    def refused(self, kind: str) -> set[str]:
        """Subjects the server refused (lower-cased: nats-py lower-cases the server's -ERR)."""
        prefix = f"permissions violation for {kind} to "
        errors = [e.lower() for e in self.seen]
        return {e.split(prefix, 1)[1].strip('"') for e in errors if prefix in e}


async def connect_as(platform: Platform, user: str, errors: Errors) -> Client:
    return await nats.connect(
        platform.nats_url,
        user=user,
        password=platform.nats_passwords[user],
        inbox_prefix=inbox_prefix(user),
        error_cb=errors.on_error,
        allow_reconnect=False,
        connect_timeout=3,
    )


@pytest.fixture
async def admin(declared: Platform) -> AsyncIterator[Bus]:
    bus = Bus(url=declared.nats_url, name="test-admin", **declared.credentials(ADMIN))
    await bus.connect()
    yield bus
    await bus.close()


@pytest.mark.parametrize("password", [None, "wrong-password"])
async def test_a_client_without_valid_credentials_is_refused(
    nats_server: Platform, password: str | None
) -> None:
    login: dict[str, Any] = {} if password is None else {"user": "gateway", "password": password}
    with pytest.raises(nats.errors.Error) as refused:
        await nats.connect(
            nats_server.nats_url,
            allow_reconnect=False,
            connect_timeout=3,
            error_cb=Errors().on_error,
            **login,
        )
    assert "authorization violation" in str(refused.value).lower()


@pytest.mark.parametrize("user", [*OWNED, REPLAYER])
async def test_an_identity_is_refused_what_is_not_its_own(
    declared: Platform, admin: Bus, user: str
) -> None:
    errors = Errors()
    nc = await connect_as(declared, user, errors)
    try:
        forbidden = forbidden_for(user)
        for subject in forbidden:
            await nc.publish(subject, b"{}")
        # Eavesdropping: everything, or another identity's replies (where pulls deliver).
        await nc.subscribe(">")
        await nc.subscribe("_INBOX_gateway.>" if user != "gateway" else "_INBOX_patrol.>")
        await nc.flush()

        async def all_refused() -> bool:
            return len(errors.seen) >= len(forbidden) + 2

        await eventually(all_refused, within=5)
        assert errors.refused("publish") == {s.lower() for s in forbidden}
        assert len(errors.refused("subscription")) == 2
        assert nc.is_connected  # refused, not disconnected: its own work goes on
    finally:
        await nc.close()
    for spec in STREAMS:  # nothing was created, changed, purged or deleted
        info = await admin.js.stream_info(spec.name)
        assert info.config.subjects == list(spec.subjects)
        assert info.state.messages == 0
    for consumer in CONSUMERS:
        await admin.js.consumer_info(consumer.stream, consumer.durable)
    assert [c.name for c in await admin.js.consumers_info("SCHOOL") if c.name == "evil"] == []


async def test_the_gateway_creates_ephemeral_consumers_but_no_durable_one(
    declared: Platform, admin: Bus
) -> None:
    """The event stream's ordered consumers need the legacy create subject, which the server
    keeps for ephemeral consumers: a durable asked for through it is refused."""
    nc = await connect_as(declared, "gateway", Errors())
    try:
        for durable in ("evil", "case_tracking-school"):
            request = {"stream_name": "SCHOOL", "config": {"durable_name": durable}}
            reply = await nc.request(
                "$JS.API.CONSUMER.CREATE.SCHOOL", json.dumps(request).encode(), timeout=2
            )
            assert "error" in json.loads(reply.data), durable
        ephemeral = {"stream_name": "SCHOOL", "config": {"deliver_subject": "_INBOX_gateway.x"}}
        reply = await nc.request(
            "$JS.API.CONSUMER.CREATE.SCHOOL", json.dumps(ephemeral).encode(), timeout=2
        )
        assert "error" not in json.loads(reply.data)
    finally:
        await nc.close()
    names = [c.name for c in await admin.js.consumers_info("SCHOOL")]
    assert "evil" not in names
    reports = await admin.js.consumer_info("SCHOOL", "case_tracking-school")
    assert reports.config.deliver_subject is None  # still the pull durable it was


@pytest.mark.usefixtures("gateway")
async def test_a_service_cannot_slip_a_forged_event_into_a_stream(
    admin_bus: Bus, nats_server: Platform
) -> None:
    """case_tracking forging the report that opens a case: the server drops it."""
    errors = Errors()
    nc = await connect_as(nats_server, "case_tracking", errors)
    forged = Envelope.wrap(
        ChildErased(child_ref="c", reports_erased=1, erased_at=datetime.now(UTC)),
        source="school_liaison",
        subject="c",
        correlation_id="c",
    )
    try:
        js = nc.jetstream(timeout=1)
        with pytest.raises(nats.errors.TimeoutError):
            await js.publish(forged.nats_subject, forged.model_dump_json().encode())
    finally:
        await nc.close()
    assert errors.refused("publish") == {forged.nats_subject}
    assert (await admin_bus.js.stream_info("SCHOOL")).state.messages == 0


def _linked() -> EventData:
    return ReportLinked(report_id="rep-forged", case_id="case-forged")


def _erased() -> EventData:
    return ChildErased(child_ref="child-forged", reports_erased=3, erased_at=datetime.now(UTC))


@pytest.mark.parametrize(
    ("data", "claimed", "consumers"),
    [
        (_linked, "patrol", ("school_liaison-cases",)),  # would re-link a report
        # would write a fake erasure, and erase a child's outcome notes
        (_erased, "case_tracking", ("gateway-erasures", "case_tracking-school")),
    ],
    ids=["report-linked", "child-erased"],
)
async def test_an_event_from_the_wrong_source_is_dead_lettered_unhandled(
    gateway: Gateway, nats_server: Platform, data: Any, claimed: str, consumers: tuple[str, ...]
) -> None:
    """Published by an identity that may (the replayer), but claiming another owner: each
    consumer of the subject dead-letters it."""
    forger = Bus(url=nats_server.nats_url, name="forger", **nats_server.credentials(REPLAYER))
    await forger.connect()
    event = Envelope.wrap(data(), source=claimed, subject="forged", correlation_id="forged")
    try:
        await forger.publish(event)
    finally:
        await forger.close()
    front: Bus = gateway.apps["gateway"].state.bus
    # Every consumer of the subject refuses it: the named one, and the figures if they count it.
    readers = {
        c.durable
        for c in CONSUMERS
        if any(subject_matches(s, event.nats_subject) for s in c.subjects)
    }
    assert set(consumers) <= readers

    async def all_letters() -> list[Any]:
        letters = await list_dead_letters(front)
        return letters if {d.consumer for d in letters} == readers else []

    # Several consumers, each its own fetch loop: bounds for a loaded 2-core machine.
    letters = await eventually(all_letters, within=20)
    assert len(letters) == len(readers)
    for letter in letters:
        assert letter.event_id == event.id
        assert letter.deliveries == 1  # at once, no retries
        assert f"source {claimed!r} may not publish" in letter.reason

    async def alerts() -> list[dict[str, Any]]:
        inbox = (await gateway.get("dispatcher1", "/v1/notifications")).json()
        found = [n for n in inbox if n["kind"] == "dead_lettered"]
        return found if len(found) >= len(readers) else []

    assert len(await eventually(alerts, within=20)) == len(readers)
    # No handler saw it: nothing recorded as processed, no erasure in the audit trail.
    for consumer in consumers:
        owner = consumer.partition("-")[0]
        if owner != "gateway":
            marker = f"{consumer}:{event.id}"
            assert await gateway.store(owner).get("processed_events", marker) is None
    erasures = (await gateway.get("auditor1", "/v1/audit", child_ref="child-forged")).json()
    assert [e for e in erasures if e["action"] == "erase"] == []
