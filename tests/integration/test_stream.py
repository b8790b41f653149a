"""The live event stream (`GET /v1/stream`): resume without loss, need-to-know per role,
filters, slow clients, several replicas, stream tickets, 410 and the audit trail.

Served over real TCP (tests/integration/sse.py) by gateways wired to the in-process services
and a real NATS server; the events come from reports filed through the API.
"""

from __future__ import annotations

import zlib
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from gateway.app import create_app
from gateway.settings import Settings
from gateway.stream import Hub, Subscriber
from gateway.tickets import TICKETS_C
from shared.bus import Bus
from shared.contracts.school import resident_id_check
from tests.integration.sse import Listener, listening, serving
from tests.support import REPORT, Gateway, eventually

NAME, ID_NUMBER = REPORT["student"]["name"], REPORT["student"]["id_number"]


@dataclass(frozen=True)
class Served:
    url: str
    app: FastAPI

    @property
    def hub(self) -> Hub:
        hub: Hub = self.app.state.stream
        return hub


Replica = Callable[..., Awaitable[Served]]


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


@pytest.fixture
async def replica(gateway: Gateway) -> AsyncIterator[Replica]:
    """Start another gateway instance on the same store, NATS and services (settings may be
    overridden), served over TCP; its base URL. The test's own gateway is `replica()`."""
    async with AsyncExitStack() as stack:
        first: list[Served] = []

        async def start(**overrides: Any) -> Served:
            base: Settings = gateway.apps["gateway"].state.settings
            if not overrides and not first:
                own = gateway.apps["gateway"]
                first.append(Served(await stack.enter_async_context(serving(own)), own))
                return first[0]
            transports: dict[str, httpx.AsyncBaseTransport] = {
                name: httpx.ASGITransport(app=app)
                for name, app in gateway.apps.items()
                if name != "gateway"
            }
            app = create_app(base.model_copy(update=overrides), transports=transports)
            await stack.enter_async_context(app.router.lifespan_context(app))
            await eventually(lambda: _ready(app))
            return Served(await stack.enter_async_context(serving(app)), app)

        await eventually(lambda: _ready(gateway.apps["gateway"]))
        yield start


async def _ready(app: Any) -> bool:
    return bool(app.state.stream.ready.is_set())


async def token(gateway: Gateway, user: str) -> str:
    return token_of(await gateway.auth(user))


OTHER_ID_NUMBER = "110101201203034322"


async def file_at(
    gateway: Gateway, school: str, name: str = NAME, *, number: str | None = None
) -> str:
    """A report at `school`; school 10's child is another child (another ID number), and so is
    a child of another name: the same child again would join its open tasks (the repeat rule)
    instead of making new ones."""
    teacher = {"sch-01": "teacher1", "sch-10": "teacher10"}[school]
    default = ID_NUMBER if school == "sch-01" else OTHER_ID_NUMBER
    if number is None:
        first = f"{default[:10]}{zlib.crc32(name.encode()):010d}"[:17]
        number = default if name == NAME else first + resident_id_check(first)
    body = {**REPORT, "school_id": school, "student": {"name": name, "id_number": number}}
    r = await gateway.file(teacher, body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def ids(listener: Listener) -> list[str]:
    return [m.data["event_id"] for m in listener.events]


async def test_a_resumed_stream_gets_every_missed_event_exactly_once(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    desk = await token(gateway, "dispatcher1")
    async with listening(base, token=desk) as steady:
        async with listening(base, token=desk) as dropped:
            await file_at(gateway, "sch-01")
            await dropped.has("task.created", 2)
            before = ids(dropped)
            last = dropped.last_id
        for n in range(3):  # filed while the second client is away
            await file_at(gateway, "sch-01", name=f"Missed {n}")
        await steady.has("task.created", 8)
        async with listening(base, token=desk, last_id=last) as resumed:
            await resumed.has("task.created", 6)
            await file_at(gateway, "sch-01", name="Live after resume")
            await resumed.has("task.created", 8)
            await steady.has("task.created", 10)

            async def caught_up() -> bool:
                return len(before) + len(ids(resumed)) >= len(ids(steady))

            await eventually(caught_up)
    together = before + ids(resumed)
    assert len(together) == len(set(together)), "an event was sent twice"
    assert Counter(together) == Counter(ids(steady)), "an event was lost"
    cases_order = [m.data["event_id"] for m in steady.events if m.event.startswith("task.")]
    resumed_order = [m.data["event_id"] for m in resumed.events if m.event.startswith("task.")]
    assert resumed_order == [i for i in cases_order if i in set(resumed_order)]


async def test_each_role_sees_its_scope_and_no_name_or_id_number(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    users = ("dispatcher1", "supervisor1", "admin1", "officer1", "officer4", "social1", "social2")
    async with AsyncExitStack() as stack:
        streams = {
            u: await stack.enter_async_context(listening(base, token=await token(gateway, u)))
            for u in users
        }
        own = await file_at(gateway, "sch-01")
        other = await file_at(gateway, "sch-10", name="Zhang Wei")
        await streams["dispatcher1"].has("task.created", 4)
        for user in ("officer1", "officer4", "social1", "social2"):
            await streams[user].has("task.created", 2)
        await file_at(gateway, "sch-01", name="Marker")  # later than everything above
        await streams["officer1"].has("task.created", 4)
        await streams["social1"].has("task.created", 4)
        await streams["dispatcher1"].has("task.created", 6)
    for user, listener in streams.items():
        secrets = (NAME, "Zhang Wei", "Marker", ID_NUMBER, OTHER_ID_NUMBER, REPORT["description"])
        for secret in secrets:
            assert secret not in listener.raw, (user, secret)
    reports = {
        u: {r["report_id"] for r in s.of_type("school.report.filed")} for u, s in streams.items()
    }
    for station in ("dispatcher1", "supervisor1", "admin1"):
        assert {own, other} <= reports[station]
    assert own in reports["officer1"]
    assert other not in reports["officer1"]
    assert other in reports["officer4"]
    assert own not in reports["officer4"]
    assert own in reports["social1"]
    assert other not in reports["social1"]
    assert other in reports["social2"]
    assert own not in reports["social2"]
    beats = {"officer1": {"sch-01"}, "officer4": {"sch-10"}, "social1": {"sch-01"}}
    for user, schools in beats.items():
        seen = {t["school_id"] for t in streams[user].of_type("task.created")}
        assert seen == schools, user


@pytest.mark.parametrize("user", ["teacher1", "safety1", "auditor1"])
async def test_school_staff_and_auditors_are_refused_the_stream(
    gateway: Gateway, replica: Replica, user: str
) -> None:
    base = (await replica()).url
    async with listening(base, token=await token(gateway, user)) as refused:
        assert refused.status == 403
    async with listening(base) as anonymous:
        assert anonymous.status == 401


async def test_filters_by_type_school_and_severity_combine(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    desk = await token(gateway, "dispatcher1")
    wanted = {"type": "task.created,task.acknowledged", "school_id": "sch-10"}
    async with (
        listening(base, token=desk, params=wanted) as narrow,
        listening(base, token=desk, params={"severity": "critical"}) as critical,
        listening(base, token=desk) as everything,
    ):
        await file_at(gateway, "sch-01")
        await file_at(gateway, "sch-10")
        await everything.has("task.created", 4)
        await narrow.has("task.created", 2)
    assert {m.event for m in narrow.events} == {"task.created"}
    assert {t["school_id"] for t in narrow.of_type("task.created")} == {"sch-10"}
    assert critical.events == []  # the demo report is a medium-risk bullying case
    risks = {t["risk_level"] for t in everything.of_type("task.created")}
    assert "critical" not in risks


async def test_bad_positions_and_filters_are_422s_naming_them(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    desk = await token(gateway, "dispatcher1")
    cases: list[tuple[dict[str, str], str | None, list[str]]] = [
        ({"type": "task.exploded"}, None, ["query", "type"]),
        ({"severity": "apocalyptic"}, None, ["query", "severity"]),
        ({"after": "1-2"}, None, ["query", "after"]),
        ({}, "x-y-z", ["header", "Last-Event-ID"]),
    ]
    for params, last, loc in cases:
        async with listening(base, token=desk, params=params, last_id=last) as bad:
            assert bad.status == 422, bad.raw
            assert loc in [d["loc"] for d in httpx.Response(422, text=bad.raw).json()["detail"]]


async def test_a_slow_client_is_cut_off_and_the_others_get_everything(
    gateway: Gateway, replica: Replica
) -> None:
    served = await replica(stream_buffer=8)
    slow: Subscriber = served.hub.join()[0]  # joined, never reads
    async with listening(served.url, token=await token(gateway, "dispatcher1")) as reader:
        for n in range(3):
            await file_at(gateway, "sch-01", name=f"Burst {n}")
            await reader.has("task.created", 2 * (n + 1))

        async def cut() -> bool:
            return slow.cut

        await eventually(cut)
        assert slow.queue.qsize() <= 9  # bounded: its buffer and the end marker
        assert served.hub.clients == 1  # dropped by the reader itself: only `reader` is left
        assert not reader.ended
        await file_at(gateway, "sch-01", name="After the cut")
        await reader.has("task.created", 8)


async def test_two_gateway_instances_serve_the_same_events_and_resume_each_other(
    gateway: Gateway, replica: Replica
) -> None:
    one, two = await replica(), await replica(audit_chain=None)
    desk = await token(gateway, "dispatcher1")
    async with listening(one.url, token=desk) as first, listening(two.url, token=desk) as second:
        await file_at(gateway, "sch-01")
        await first.has("task.created", 2)
        await second.has("task.created", 2)
        last = first.last_id
        assert sorted(ids(first)) == sorted(ids(second))
    await file_at(gateway, "sch-01", name="While away")
    async with listening(two.url, token=desk, last_id=last) as moved:  # the other replica
        missed = await moved.has("task.created", 2)
    assert len(ids(moved)) == len(set(ids(moved)))
    assert not set(ids(moved)) & set(ids(first))
    assert {t["task_id"] for t in missed}.isdisjoint(
        {t["task_id"] for t in first.of_type("task.created")}
    )


async def test_a_ticket_opens_one_stream_once_for_its_user_and_expires(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    headers = await gateway.auth("officer1")
    async with httpx.AsyncClient(base_url=base) as http:
        tickets = [
            (await http.post("/v1/stream/tickets", headers=headers)).json() for _ in range(2)
        ]
        assert tickets[0]["expires_in"] <= 30
        once = {"ticket": tickets[0]["ticket"], "replay_only": "true", "after": "0-0-0-0"}
        first = await http.get("/v1/stream", params=once)
        assert first.status_code == 200
        assert "event: ready" in first.text
        again = await http.get("/v1/stream", params=once)
        assert again.status_code == 401
        teacher = await http.post("/v1/stream/tickets", headers=await gateway.auth("teacher1"))
        assert teacher.status_code == 403
        store = gateway.apps["gateway"].state.store
        (doc,) = await store.find(TICKETS_C)  # the second, unused ticket: made stale
        await store.put(TICKETS_C, {**doc, "expires_at": 0})
        stale = await http.get("/v1/stream", params={"ticket": tickets[1]["ticket"]})
        assert stale.status_code == 401
    sessions = [e for e in await _entries(gateway, "officer1") if e.action == "stream"]
    assert len(sessions) == 1  # the ticket's stream ran as officer1


async def _entries(gateway: Gateway, actor: str) -> list[Any]:
    log = gateway.apps["gateway"].state.audit
    return list((await log.page(actor=actor, limit=1000))[0])


async def test_a_position_the_streams_no_longer_hold_is_a_410(
    gateway: Gateway, replica: Replica, admin_bus: Bus
) -> None:
    base = (await replica()).url
    desk = await token(gateway, "dispatcher1")
    await file_at(gateway, "sch-01")
    async with listening(base, token=desk, params={"after": "0-0-0-0"}) as full:
        await full.has("task.created", 2)  # replayed from the start: still held
    await admin_bus.js.purge_stream("CASES")  # as retention would, after max_age
    async with listening(base, token=desk, params={"after": "0-0-0-0"}) as gone:
        assert gone.status == 410
        assert "reload" in gone.raw
    async with listening(base, token=desk, last_id=full.last_id) as current:
        assert current.status == 200  # a position after the purge is fine


async def test_a_silent_stream_sends_heartbeats(gateway: Gateway, replica: Replica) -> None:
    served = await replica(stream_heartbeat_s=0.05)
    async with listening(served.url, token=await token(gateway, "supervisor1")) as quiet:

        async def beats() -> bool:
            return quiet.heartbeats >= 3

        await eventually(beats)


async def test_a_stream_session_and_each_child_first_shown_are_audited(
    gateway: Gateway, replica: Replica
) -> None:
    base = (await replica()).url
    async with listening(base, token=await token(gateway, "officer1")) as officer:
        await file_at(gateway, "sch-01")
        await file_at(gateway, "sch-01", name="Same child again", number=ID_NUMBER)
        reports = await officer.has("school.report.filed", 2)
    entries = await _entries(gateway, "officer1")
    assert len([e for e in entries if e.action == "stream"]) == 1
    child = reports[0]["child_ref"]
    assert {r["child_ref"] for r in reports} == {child}  # one ID number: one child
    shown = [e for e in entries if e.action == "read" and e.child_ref == child]
    assert len(shown) == 1  # the first time only, however many events name the child
    cases = {t["case_id"] for t in officer.of_type("task.created")}
    assert cases <= {e.object_id for e in entries if e.object_type == "case"}
