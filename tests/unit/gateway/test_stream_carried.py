"""The live stream unpacks carriers (shared/carried.py): one item per carried event, sharing
its message's sequence; a client's queue takes a message whole or is cut before it; the `id`
of a frame resumes before the message for an earlier part, after it for the last part sent."""

from __future__ import annotations

import logging
from types import SimpleNamespace
from typing import Any, cast

import pytest
from nats.aio.msg import Msg

from gateway.audit import Event
from gateway.stream import Subscriber
from gateway.stream_api import Session
from gateway.stream_items import Item, Position, items_of, messages
from gateway.stream_views import Filters, ScopeIndex
from shared.contracts.cases import IntakeRecorded
from shared.events import Envelope
from shared.identity import Principal, Role

DESK = Principal(user_id="u-desk", role=Role.dispatcher)
OFFICER = Principal(user_id="u-officer", role=Role.police_officer, school_ids=("sch-01",))
CASE, CHILD = "case-1", "child-ref-secret"


def event(kind: str, data: dict[str, Any], source: str = "case_tracking") -> Envelope:
    return Envelope(
        type=kind, version=1, source=source, subject=CASE, correlation_id="c", data=data
    )


def intake(*, school: str = "sch-01") -> list[Envelope]:
    """A report's intake, as case_tracking announces it."""
    task = {
        "case_id": CASE,
        "school_id": school,
        "kind": "visit",
        "title": "Visit",
        "assignee_user_id": None,
        "risk_level": "high",
        "due_at": "2030-01-01T00:00:00+00:00",
    }
    return [
        event(
            "case.opened",
            {"case_id": CASE, "child_ref": CHILD, "school_id": school, "risk_level": "high"},
        ),
        event("case.report.linked", {"report_id": "rep-1", "case_id": CASE}),
        event(
            "task.created",
            {**task, "task_id": "t-police", "agency": "police", "assignee_org_id": None},
        ),
        event(
            "task.created",
            {**task, "task_id": "t-social", "agency": "social_work", "assignee_org_id": "org-a"},
        ),
        event(
            "case.identity.flagged", {"case_id": CASE, "report_id": "rep-1", "school_id": school}
        ),
    ]


def carrier(events: list[Envelope], source: str = "case_tracking") -> Envelope:
    return Envelope.wrap(
        IntakeRecorded(events=events), source=source, subject=CASE, correlation_id="c"
    )


def msg(envelope: Envelope | bytes, seq: int = 7, stream: str = "CASES") -> Msg:
    """A JetStream message as an ordered consumer is handed it."""
    data = envelope if isinstance(envelope, bytes) else envelope.model_dump_json().encode()
    stamp = 1_700_000_000_000_000_000 + seq
    reply = f"$JS.ACK.{stream}.feed.1.{seq}.{seq}.{stamp}.0"
    return Msg(_client=cast(Any, None), subject="x", reply=reply, data=data)


def parts(seq: int, events: list[Envelope], stream: str = "CASES") -> list[Item]:
    return [Item(stream, seq, float(seq), e) for e in events]


# items_of


def test_a_carrier_is_its_events_in_order_sharing_the_messages_sequence_and_time() -> None:
    events = intake()
    items = items_of(msg(carrier(events), seq=12))
    assert [i.envelope for i in items] == events
    assert {(i.stream, i.seq, i.at) for i in items} == {("CASES", 12, items[0].at)}
    alone = items_of(msg(events[0], seq=13))
    assert [(i.envelope, i.seq) for i in alone] == [(events[0], 13)]
    assert [len(m) for m in messages([*items, *alone])] == [5, 1]


def test_a_carried_event_that_breaks_its_contract_is_dropped_alone() -> None:
    events = intake()
    broken = event("task.created", {"case_id": CASE, "task_id": "t-x"})  # no school, no kind
    items = items_of(msg(carrier([events[0], broken, events[1]])))
    assert [i.envelope for i in items] == [events[0], events[1]]


@pytest.mark.parametrize(
    "forged",
    [
        # a school's event inside case_tracking's carrier: case_tracking may not publish it
        [event("school.report.filed", {"report_id": "r", "child_ref": CHILD}, "case_tracking")],
        # a carried event of another source than its carrier's
        [event("case.opened", {"case_id": CASE, "child_ref": CHILD}, "school_liaison")],
        # a carrier inside a carrier
        [carrier(intake())],
        # an event the carrier may not hold (shared/streams.CARRIED), even of its publisher
        [event("case.unheard_of", {"case_id": CASE})],
    ],
)
def test_a_forged_carrier_shows_nothing_and_logs_nothing_it_holds(
    forged: list[Envelope], caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.DEBUG):
        assert items_of(msg(carrier([*intake()[:2], *forged]))) == []
    assert "forged carrier in CASES at 7" in caplog.text
    assert CHILD not in caplog.text
    assert CASE not in caplog.text


def test_an_undecodable_carrier_or_message_shows_nothing() -> None:
    raw = carrier(intake()).model_dump(mode="json")
    raw["data"]["events"] = []  # a carrier carries at least one event
    assert items_of(msg(Envelope.model_validate(raw))) == []
    assert items_of(msg(b"{not json")) == []
    raw["data"] = {"events": "not a list"}
    assert items_of(msg(Envelope.model_validate(raw))) == []


# Subscriber.offer_all


def test_a_queue_takes_a_messages_parts_all_or_none_and_is_cut_before_it() -> None:
    client = Subscriber(size=5)
    single, intake_parts = parts(1, intake()[:1]), parts(2, intake())
    client.offer_all(single)
    client.offer_all(intake_parts)  # 1 + 5 > 5: cut before the carrier
    assert client.cut
    client.offer_all(parts(3, intake()[:1]))  # nothing after the cut
    queued = [client.queue.get_nowait() for _ in range(client.queue.qsize())]
    assert queued == [*single, None]


def test_a_queue_with_room_takes_the_whole_message() -> None:
    client = Subscriber(size=6)
    client.offer_all(parts(1, intake()[:1]))
    client.offer_all(parts(2, intake()))
    assert not client.cut
    assert client.queue.qsize() == 6


def test_a_message_larger_than_the_buffer_is_taken_into_an_empty_queue() -> None:
    client = Subscriber(size=3)
    client.offer_all(parts(1, intake()))
    assert not client.cut
    assert client.queue.qsize() == 5
    client.offer_all(parts(2, intake()[:1]))
    assert client.cut  # no room for more until it has read


# Session.frames: which parts a client is sent, with which ids


class Audit:
    def __init__(self) -> None:
        self.entries: list[Event] = []

    async def append(self, *events: Event) -> None:
        self.entries.extend(events)


def session(
    principal: Principal,
    sent: Position,
    filters: Filters | None = None,
    index: ScopeIndex | None = None,
) -> tuple[Session, Audit]:
    audit = Audit()
    state = SimpleNamespace(stream_index=index or ScopeIndex(), audit=audit)
    request = cast(Any, SimpleNamespace(app=SimpleNamespace(state=state)))
    return Session(request, principal, filters or Filters(), sent), audit


def frames_of(text: str) -> list[tuple[str, str]]:
    """(id, event) of each SSE message."""
    found = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines())
        found.append((fields["id"], fields["event"]))
    return found


P = Position.parse


async def test_every_part_is_sent_in_order_earlier_ones_resuming_before_the_message() -> None:
    client, audit = session(DESK, P("3-9-0-0"))
    text = await client.frames([*parts(10, intake()), *parts(11, intake()[1:2])])
    assert frames_of(text) == [
        ("3-9-0-0", "case.opened"),
        ("3-9-0-0", "case.report.linked"),
        ("3-9-0-0", "task.created"),
        ("3-9-0-0", "task.created"),
        ("3-10-0-0", "case.identity.flagged"),
        ("3-11-0-0", "case.report.linked"),  # a message of one: after it, as before
    ]
    assert client.sent == P("3-11-0-0")
    shown = [(e.child_ref, e.object_type, e.object_id) for e in audit.entries]
    assert shown == [(CHILD, "stream", client.id), (None, "case", CASE)]  # each first time


async def test_a_client_sent_some_parts_gets_the_position_after_on_its_last_one() -> None:
    only = Filters(types=frozenset({"case.opened", "task.created"}))
    filtered, _ = session(DESK, P("3-9-0-0"), only)
    assert frames_of(await filtered.frames(parts(10, intake()))) == [
        ("3-9-0-0", "case.opened"),
        ("3-9-0-0", "task.created"),
        ("3-10-0-0", "task.created"),
    ]
    index = ScopeIndex()
    for item in parts(10, intake()):
        index.observe(item)
    officer, _ = session(OFFICER, P("3-9-0-0"), index=index)  # no identity flags for him
    assert frames_of(await officer.frames(parts(10, intake()))) == [
        ("3-9-0-0", "case.opened"),
        ("3-9-0-0", "case.report.linked"),
        ("3-9-0-0", "task.created"),
        ("3-10-0-0", "task.created"),
    ]
    elsewhere, _ = session(OFFICER, P("3-9-0-0"), index=ScopeIndex())
    assert await elsewhere.frames(parts(10, intake(school="sch-10"))) == ""
    assert elsewhere.sent == P("3-10-0-0")  # had, though nothing of it was for him


async def test_resuming_from_an_earlier_parts_id_repeats_the_message_from_the_last_nothing() -> (
    None
):
    message = parts(10, intake())
    first, _ = session(DESK, P("3-9-0-0"))
    ids = [i for i, _ in frames_of(await first.frames(message))]
    earlier, last = Position.parse(ids[0]), Position.parse(ids[-1])
    again, _ = session(DESK, earlier)
    assert [e for _, e in frames_of(await again.frames(message))] == [e.type for e in intake()]
    done, _ = session(DESK, last)
    assert await done.frames(message) == ""
    assert done.sent == last


async def test_a_message_already_had_is_skipped_whole_when_the_replay_and_live_feed_overlap() -> (
    None
):
    client, _ = session(DESK, P("0-0-0-0"))
    replayed = [*parts(10, intake()), *parts(4, intake()[:1], stream="SCHOOL")]
    live = [*parts(10, intake()), *parts(11, intake()[:2])]
    assert len(frames_of(await client.frames(replayed))) == 6
    assert frames_of(await client.frames(live)) == [
        ("4-10-0-0", "case.opened"),
        ("4-11-0-0", "case.report.linked"),
    ]


async def test_a_live_frame_is_built_once_with_the_id_of_each_client_position() -> None:
    message = parts(10, intake())
    for item in message:
        item.before, item.position = P("3-9-0-0"), P("3-10-0-0")
    caught_up, _ = session(DESK, P("3-9-0-0"))
    behind, _ = session(DESK, P("2-9-0-0"))  # had less of SCHOOL: ids of its own
    shared = frames_of(await caught_up.frames(message))
    own = frames_of(await behind.frames(message))
    assert [i for i, _ in shared] == ["3-9-0-0"] * 4 + ["3-10-0-0"]
    assert [i for i, _ in own] == ["2-9-0-0"] * 4 + ["2-10-0-0"]
    assert message[0].shaped["before"].startswith("id: 3-9-0-0\n")
    assert message[-1].shaped["frame"].startswith("id: 3-10-0-0\n")
    only = Filters(types=frozenset({"case.opened"}))
    sole, _ = session(DESK, P("3-9-0-0"), only)  # its last part is the first: after
    assert frames_of(await sole.frames(message)) == [("3-10-0-0", "case.opened")]
    assert message[0].shaped["frame"].startswith("id: 3-10-0-0\n")
