"""The live stream unpacks carriers: a report's intake is one CASES message
(`case.intake.recorded`, shared/carried.py) whose events each reach a client as if published
alone, in order, under the role's rules; ids resume at message boundaries (an earlier part's id
before the message, the last part's after it); a forged carrier shows nothing; a slow client's
queue takes a message whole or is cut before it.

Served over real TCP by the test's gateway, wired to the in-process services and a real NATS
server; the carriers are case_tracking's own, from reports filed through the API.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gateway.stream import Subscriber
from gateway.stream_events import CONTRACTS
from gateway.stream_items import Item, Position, messages
from shared.bus import Bus
from shared.carried import unpacked
from shared.contracts.cases import CaseOpened, IntakeRecorded
from shared.contracts.school import ReportCategory, ReportFiled, Severity
from shared.events import Envelope, EventData, new_id, utcnow
from tests.integration.sse import Listener, listening, serving
from tests.integration.test_stream import ID_NUMBER, file_at, token
from tests.support import Gateway, eventually


@pytest.fixture
async def base(gateway: Gateway) -> AsyncIterator[str]:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app.state.stream))
    async with serving(app) as url:
        yield url


async def intake_of(bus: Bus, report_id: str) -> tuple[int, list[Envelope]]:
    """The CASES sequence of the report's intake and the events it carries, as stored."""

    async def probe() -> tuple[int, list[Envelope]] | None:
        last = (await bus.js.stream_info("CASES")).state.last_seq
        for seq in range(last, 0, -1):
            raw = await bus.js.get_msg("CASES", seq)
            if raw.subject != IntakeRecorded.nats_subject():
                continue
            try:
                events = unpacked(Envelope.model_validate_json(raw.data or b""))
            except ValueError:  # the forged one of a test
                continue
            if any(e.data.get("report_id") == report_id for e in events):
                return seq, events
        return None

    return await eventually(probe)


def parts_of(listener: Listener, events: list[Envelope]) -> list[tuple[str, str, Position]]:
    """(event id, event type, id) of the messages `listener` was sent of these events."""
    ours = {e.id for e in events}
    return [
        (m.data["event_id"], m.event, Position.parse(m.id or ""))
        for m in listener.events
        if m.data["event_id"] in ours
    ]


async def arrived(listener: Listener, events: list[Envelope]) -> None:
    async def probe() -> bool:
        return len(parts_of(listener, events)) >= len(events)

    await eventually(probe)


def at_boundaries(sent: list[tuple[str, str, Position]], seq: int) -> None:
    """Every part but the last resumes before the CASES message at `seq`, the last after it."""
    *earlier, (_, _, after) = sent
    assert after[1] == seq
    assert {p for _, _, p in earlier} <= {Position((after[0], seq - 1, *after[2:]))}


async def test_an_intakes_events_reach_a_client_in_order_each_as_itself(
    gateway: Gateway, base: str, admin_bus: Bus
) -> None:
    desk = await token(gateway, "dispatcher1")
    async with (
        listening(base, token=desk) as everything,
        listening(base, token=desk, params={"type": "task.created"}) as tasks,
    ):
        seq, events = await intake_of(admin_bus, await file_at(gateway, "sch-01"))
        await arrived(everything, events)
        await tasks.has("task.created", 2)
    kinds = [e.type for e in events]
    assert kinds[:2] == ["case.opened", "case.report.linked"]
    assert kinds.count("task.created") == 2
    sent = parts_of(everything, events)
    assert [(i, kind) for i, kind, _ in sent] == [(e.id, e.type) for e in events]
    at_boundaries(sent, seq)
    for message in everything.events:  # as shaped when published alone: facts only
        assert {"event_id", "type", "time"} <= set(message.data)
        assert message.data["type"] == message.event
    narrow = parts_of(tasks, events)
    assert [i for i, _, _ in narrow] == [e.id for e in events if e.type == "task.created"]
    at_boundaries(narrow, seq)


async def test_a_role_shown_some_parts_gets_only_those_and_resumes_after_its_last(
    gateway: Gateway, base: str, admin_bus: Bus
) -> None:
    async with (
        listening(base, token=await token(gateway, "dispatcher1")) as desk,
        listening(base, token=await token(gateway, "officer1")) as officer,
    ):
        await file_at(gateway, "sch-01")
        # The same ID number with another name: the intake ends with case.identity.flagged.
        again = await file_at(gateway, "sch-01", name="Other Name", number=ID_NUMBER)
        seq, events = await intake_of(admin_bus, again)
        assert events[-1].type == "case.identity.flagged"
        await arrived(desk, events)
        marker, _ = await intake_of(admin_bus, await file_at(gateway, "sch-01", name="Marker"))
        await officer.has("case.opened", 2)  # the marker's: anything before it has arrived
        assert marker > seq
    at_boundaries(parts_of(desk, events), seq)
    shown = parts_of(officer, events)
    assert [i for i, _, _ in shown] == [e.id for e in events[:-1]]  # no identity flag
    at_boundaries(shown, seq)


async def test_resuming_from_the_last_part_repeats_nothing_from_an_earlier_one_the_rest(
    gateway: Gateway, base: str, admin_bus: Bus
) -> None:
    desk = await token(gateway, "dispatcher1")
    async with listening(base, token=desk) as first:
        seq, events = await intake_of(admin_bus, await file_at(gateway, "sch-01"))
        await arrived(first, events)
    sent = parts_of(first, events)
    replay = {"replay_only": "true"}
    last = sent[-1][2].encode()
    async with listening(base, token=desk, last_id=last, params=replay) as after_last:
        pass
    assert parts_of(after_last, events) == []
    earlier = sent[1][2].encode()  # the intake's second part's
    async with listening(base, token=desk, last_id=earlier, params=replay) as resumed:
        pass
    again = parts_of(resumed, events)
    assert [i for i, _, _ in again] == [e.id for e in events]  # the rest, and the first two again
    at_boundaries(again, seq)


def _wrapped(data: EventData, source: str = "case_tracking") -> Envelope:
    return Envelope.wrap(data, source=source, subject="case-forged", correlation_id=new_id())


async def test_a_forged_carrier_shows_nothing_live_or_replayed(
    gateway: Gateway, base: str, admin_bus: Bus
) -> None:
    child = "forged-child-ref"
    opened = CaseOpened(
        case_id="case-forged", child_ref=child, school_id="sch-01", risk_level=Severity.high
    )
    filed = ReportFiled(
        report_id="rep-forged",
        school_id="sch-01",
        category=next(iter(ReportCategory)),
        severity=Severity.high,
        immediate_danger=False,
        child_ref=child,
        community_officer_id="officer1",
        social_org_id="org-1",
        filed_by="u-forger",
        filed_at=utcnow(),
    )
    # case_tracking may announce a case's opening, never a school's report.
    forged = IntakeRecorded(events=[_wrapped(opened), _wrapped(filed)])
    desk = await token(gateway, "dispatcher1")
    async with listening(base, token=desk) as live:
        await admin_bus.publish(_wrapped(forged))
        _, marker = await intake_of(admin_bus, await file_at(gateway, "sch-01"))
        await arrived(live, marker)  # read after the forged carrier, on the same stream
    async with listening(
        base, token=desk, params={"after": "0-0-0-0", "replay_only": "true"}
    ) as replayed:
        pass
    for listener in (live, replayed):
        assert parts_of(listener, forged.events) == []
        assert child not in listener.raw
    assert len(parts_of(replayed, marker)) == len(marker)


async def test_a_slow_clients_queue_takes_messages_whole_and_is_cut_before_one(
    gateway: Gateway, admin_bus: Bus
) -> None:
    hub = gateway.apps["gateway"].state.stream
    await eventually(lambda: _ready(hub))
    # Room for the report (one event) and three more: an intake of four does not fit after it.
    buffer, hub.buffer = hub.buffer, 4
    try:
        slow: Subscriber = hub.join()[0]  # joined, never reads
    finally:
        hub.buffer = buffer
    report = await file_at(gateway, "sch-01")
    seq, events = await intake_of(admin_bus, report)

    async def cut() -> bool:
        return slow.cut

    await eventually(cut)
    queued = [slow.queue.get_nowait() for _ in range(slow.queue.qsize())]
    assert queued[-1] is None
    items = [i for i in queued if isinstance(i, Item)]
    assert 0 < len(items) <= 4
    for message in messages(items):  # each whole, as stored
        stored = await admin_bus.js.get_msg(message[0].stream, message[0].seq)
        parts = unpacked(Envelope.model_validate_json(stored.data or b""))
        assert [i.envelope.id for i in message] == [e.id for e in parts if e.type in CONTRACTS]
    intake = [i for i in items if (i.stream, i.seq) == ("CASES", seq)]
    assert len(intake) in (0, len(events))  # never cut in the middle of the intake
    if not intake:  # the usual order: the report first, then its intake, which did not fit
        assert [i.envelope.data.get("report_id") for i in items] == [report]
    assert hub.clients == 0  # dropped by the hub itself


async def _ready(hub: Any) -> bool:
    return bool(hub.ready.is_set())
