"""Partner webhooks end to end in one process: real NATS, real SQLite, a real receiver on
127.0.0.1 (allow-listed). Webhook time is the test's own clock: a day of retries without a
day of waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from services.notifications import webhook_matching, webhook_store
from shared.bus import Bus
from shared.event_views import FIELDS
from shared.events import Envelope
from shared.streams import subject_matches
from tests.integration.matrix_webhooks import client_login
from tests.integration.tasks import notice, stream_events
from tests.integration.test_paging import walk
from tests.receiver import Receiver
from tests.support import REPORT, Gateway, eventually


class TestClock:
    """Real time, moved forward by the test: jumps to the next attempt's time."""

    __test__ = False

    def __init__(self) -> None:
        self.ahead = timedelta(0)

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.ahead

    def to(self, moment: str) -> None:
        self.ahead += max(timedelta(0), datetime.fromisoformat(moment) - self())


@pytest.fixture
def clock() -> TestClock:
    return TestClock()


@pytest.fixture
def notifications_options(clock: TestClock) -> dict[str, Any]:
    return {"clock": clock}


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    server = await Receiver().start()
    yield server
    await server.stop()


async def subscribe(gw: Gateway, client: str, url: str, *types: str) -> dict[str, Any]:
    body = {"url": url, "event_types": list(types)}
    r = await gw.call(client, "POST", "/v1/webhooks/subscriptions", json=body)
    assert r.status_code == 201, r.text
    created: dict[str, Any] = r.json()
    assert created["secret"].startswith("whsec_")
    return created


async def log_of(gw: Gateway, who: str, sub_id: str) -> list[dict[str, Any]]:
    r = await gw.get(who, f"/v1/webhooks/subscriptions/{sub_id}/deliveries")
    assert r.status_code == 200, r.text
    found: list[dict[str, Any]] = r.json()
    return found


async def attempts_reach(gw: Gateway, who: str, sub_id: str, n: int) -> dict[str, Any]:
    async def probe() -> dict[str, Any] | None:
        log = await log_of(gw, who, sub_id)
        return log[0] if log and len(log[0]["attempts"]) >= n else None

    return await eventually(probe, within=10)


async def test_a_failing_receiver_is_retried_with_the_same_id_until_it_recovers(
    gateway: Gateway, receiver: Receiver, clock: TestClock
) -> None:
    desk = await client_login(gateway, "desk-system", role="dispatcher")
    sub = await subscribe(gateway, desk, receiver.url, "case.opened")
    receiver.modes = ["500", "hang", "ok"]
    await gateway.file("teacher1", REPORT)

    first = await attempts_reach(gateway, desk, sub["id"], 1)
    assert [a["status_code"] for a in first["attempts"]] == [500]
    assert first["state"] == "pending"
    clock.to(first["next_attempt_at"])
    second = await attempts_reach(gateway, desk, sub["id"], 2)
    timed_out = second["attempts"][1]
    assert timed_out["status_code"] is None
    assert "no answer" in timed_out["error"]
    assert timed_out["latency_ms"] >= 900  # the test's timeout is 1 s
    clock.to(second["next_attempt_at"])
    third = await attempts_reach(gateway, desk, sub["id"], 3)

    assert third["state"] == "delivered"
    assert third["next_attempt_at"] is None
    assert [a["status_code"] for a in third["attempts"]] == [500, None, 200]
    assert len(await log_of(gateway, desk, sub["id"])) == 1  # one row, three attempts
    assert receiver.ids() == [third["id"]] * 3  # the same webhook-id on every attempt
    for got in receiver.got:
        payload: Any = got.verified(sub["secret"])
        assert payload["type"] == "case.opened"
        assert set(payload["data"]) <= {"event_id", *FIELDS["case.opened"]}
        assert payload["data"]["event_id"] == third["event_id"]
        assert b"Li Ming" not in got.body
        assert b"140502" not in got.body
    assert third["case_id"] == payload["data"]["case_id"]  # the log names the case
    assert third["child_ref"] == payload["data"]["child_ref"]


async def test_a_created_task_reaches_notifications_once_for_its_inbox_and_webhooks(
    gateway: Gateway, receiver: Receiver, admin_bus: Bus
) -> None:
    desk = await client_login(gateway, "desk-system", role="dispatcher")
    sub = await subscribe(gateway, desk, receiver.url, "task.created")
    tasks = await gateway.tasks_of((await gateway.file("teacher1", REPORT)).json()["id"], 2)

    async def delivered() -> list[dict[str, Any]] | None:
        log = await log_of(gateway, desk, sub["id"])
        return log if len(log) == 2 and all(d["state"] == "delivered" for d in log) else None

    await eventually(delivered, within=10)
    for task in tasks:  # the inbox entries, from the same delivery
        await notice(gateway, "dispatcher1", kind="task_assigned", task_id=task["id"])
    # On the server: one notifications durable takes task.created.
    takers = [
        info.name
        for info in await admin_bus.js.consumers_info("CASES")
        if info.name.startswith("notifications-")
        and any(
            subject_matches(f, "task.created.v1")
            for f in info.config.filter_subjects or [info.config.filter_subject or ""]
        )
    ]
    assert takers == ["notifications-events-cases"]


async def test_a_redirect_is_not_followed_an_endless_answer_is_cut_and_redelivery_works(
    gateway: Gateway, receiver: Receiver
) -> None:
    desk = await client_login(gateway, "desk-system", role="dispatcher")
    sub = await subscribe(gateway, desk, receiver.url, "case.opened")
    receiver.modes = ["redirect", "endless"]
    await gateway.file("teacher1", REPORT)

    first = await attempts_reach(gateway, desk, sub["id"], 1)
    assert first["attempts"][0]["status_code"] == 302
    assert first["attempts"][0]["error"] == "redirect not followed"
    assert [r.path for r in receiver.got] == ["/hook"]  # never /elsewhere

    path = f"/v1/webhooks/subscriptions/{sub['id']}/deliveries/{first['id']}/redeliver"
    r = await gateway.call(desk, "POST", path)
    assert r.status_code == 202, r.text
    again = await attempts_reach(gateway, desk, sub["id"], 2)
    assert again["state"] == "delivered"
    assert again["attempts"][1]["status_code"] == 200
    assert again["attempts"][1]["latency_ms"] < 1000  # read to the cap, not to the timeout
    await eventually(lambda: _true(receiver.cut == 1))
    assert receiver.ids() == [first["id"]] * 2
    assert len(await log_of(gateway, desk, sub["id"])) == 1

    missing = f"/v1/webhooks/subscriptions/{sub['id']}/deliveries/msg_none/redeliver"
    assert (await gateway.call(desk, "POST", missing)).status_code == 404


async def _true(value: bool) -> bool:
    return value


async def test_a_subscription_failing_for_a_day_is_disabled_and_the_admins_are_told(
    gateway: Gateway, receiver: Receiver, clock: TestClock
) -> None:
    desk = await client_login(gateway, "desk-system", role="dispatcher")
    sub = await subscribe(gateway, desk, receiver.url, "case.opened")
    receiver.default = "500"
    started = clock()
    await gateway.file("teacher1", REPORT)

    async def disabled() -> dict[str, Any] | None:
        current = (await gateway.get(desk, f"/v1/webhooks/subscriptions/{sub['id']}")).json()
        return None if current["active"] else current

    seen = 0
    while (done := await disabled()) is None:
        entry = await attempts_reach(gateway, desk, sub["id"], seen + 1)
        seen = len(entry["attempts"])
        assert seen <= 10, entry  # the schedule has ten attempts at most
        if entry["next_attempt_at"]:
            clock.to(entry["next_attempt_at"])
    assert (clock() - started).total_seconds() >= 24 * 3600
    assert "24 hours" in done["disabled_reason"]
    [entry] = await log_of(gateway, desk, sub["id"])
    assert entry["state"] == "failed"
    assert {a["status_code"] for a in entry["attempts"]} == {500}
    assert len(set(receiver.ids())) == 1

    async def alerted(user: str) -> list[dict[str, Any]]:
        inbox = (await gateway.get(user, "/v1/notifications")).json()
        return [n for n in inbox if n["kind"] == "webhook_disabled"]

    assert sub["id"] in (await eventually(lambda: alerted("admin1")))[0]["title"]
    assert await alerted(desk)  # the partner's own inbox too
    # Disabled, it is sent nothing; a redelivery asks for it to be enabled first.
    path = f"/v1/webhooks/subscriptions/{sub['id']}/deliveries/{entry['id']}/redeliver"
    assert (await gateway.call(desk, "POST", path)).status_code == 409
    enable = {"active": True}
    on = await gateway.call(desk, "PATCH", f"/v1/webhooks/subscriptions/{sub['id']}", json=enable)
    assert on.json()["active"] is True
    assert (await gateway.call(desk, "POST", path)).status_code == 202


async def test_registration_refuses_what_may_not_be_called_or_seen(gateway: Gateway) -> None:
    ngo = await client_login(gateway, "ngo-system", role="social_worker", org_id="org-rainbow")
    cases = [
        ({"url": "http://10.0.0.1/hook", "event_types": ["task.created"]}, "url"),
        ({"url": "https://169.254.169.254/x", "event_types": ["task.created"]}, "url"),
        ({"url": "ftp://127.0.0.1/x", "event_types": ["task.created"]}, "url"),
        ({"url": "https://no-such-host.invalid/x", "event_types": ["task.created"]}, "url"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["ops.dead_lettered"]}, "event_types"),
        ({"url": "http://127.0.0.1:9/x", "event_types": ["school.child.erased"]}, "event_types"),
        ({"url": "http://127.0.0.1:9/x", "event_types": []}, "event_types"),
    ]
    for body, field in cases:
        r = await gateway.call(ngo, "POST", "/v1/webhooks/subscriptions", json=body)
        assert r.status_code == 422, (body, r.text)
        assert [d["loc"][-1] for d in r.json()["detail"]] == [field], (body, r.text)
    listed = await gateway.get(ngo, "/v1/webhooks/subscriptions")
    assert listed.json() == []  # nothing half-stored
    # Each event is sent once per subscription: a client's number of them is bounded.
    ok = {"url": "http://127.0.0.1:9/x", "event_types": ["task.created"]}
    for _ in range(20):
        r = await gateway.call(ngo, "POST", "/v1/webhooks/subscriptions", json=ok)
        assert r.status_code == 201, r.text
    r = await gateway.call(ngo, "POST", "/v1/webhooks/subscriptions", json=ok)
    assert r.status_code == 409
    # People do not subscribe, partner clients do; a teacher's client may not at all.
    person = await gateway.call(
        "dispatcher1",
        "POST",
        "/v1/webhooks/subscriptions",
        json={"url": "http://127.0.0.1:9/x", "event_types": ["task.created"]},
    )
    assert person.status_code == 403
    school = await client_login(gateway, "school-system", role="teacher", school_id="sch-01")
    body = {"url": "http://127.0.0.1:9/x", "event_types": ["task.created"]}
    r = await gateway.call(school, "POST", "/v1/webhooks/subscriptions", json=body)
    assert r.status_code == 403


async def test_scoped_clients_get_only_their_cases_and_a_redelivered_event_writes_nothing(
    gateway: Gateway, receiver: Receiver, admin_bus: Bus
) -> None:
    mine = await client_login(gateway, "ngo-rainbow", role="social_worker", org_id="org-rainbow")
    other = await client_login(gateway, "ngo-other", role="social_worker", org_id="org-sunflower")
    ours = await subscribe(gateway, mine, receiver.url, "task.created", "task.acknowledged")
    theirs = await subscribe(gateway, other, receiver.url, "task.created", "task.acknowledged")
    tasks = await gateway.tasks_of((await gateway.file("teacher1", REPORT)).json()["id"], 2)
    social = next(t for t in tasks if t["agency"] == "social_work")
    assert (await gateway.call("social1", "POST", f"/v1/tasks/{social['id']}/ack")).is_success

    async def three() -> list[dict[str, Any]] | None:
        log = await log_of(gateway, mine, ours["id"])
        return log if len(log) == 3 and all(d["state"] == "delivered" for d in log) else None

    log = await eventually(three, within=10)  # two tasks created, one acknowledged
    assert sorted(d["event_type"] for d in log) == ["task.acknowledged", *["task.created"] * 2]
    pages = await walk(
        gateway, mine, f"/v1/webhooks/subscriptions/{ours['id']}/deliveries", limit=2
    )
    assert [len(p) for p in pages] == [2, 1]
    assert [d["id"] for p in pages for d in p] == [d["id"] for d in log]  # newest first, once
    assert await log_of(gateway, other, theirs["id"]) == []  # not her organisation's case
    assert (await gateway.get(other, f"/v1/webhooks/subscriptions/{ours['id']}")).status_code == 404
    admin = await gateway.get("admin1", "/v1/webhooks/subscriptions")
    assert {s["id"] for s in admin.json()} == {ours["id"], theirs["id"]}
    # A revoked client is pushed nothing more: its subscriptions are disabled with it.
    assert (
        await gateway.call("admin1", "DELETE", "/v1/admin/clients/ngo-other")
    ).status_code == 204
    revoked = (await gateway.get("admin1", f"/v1/webhooks/subscriptions/{theirs['id']}")).json()
    assert revoked["active"] is False
    assert "client revoked" in revoked["disabled_reason"]

    # The same event handled again (a redelivery by JetStream): no second row.
    rt = gateway.apps["notifications"].state.runtime
    delivery = await webhook_store.get_delivery(rt.store, delivery_id=log[0]["id"])
    assert delivery is not None
    event = await _event_of(admin_bus, delivery.event_id)
    fresh = webhook_matching.ActiveSubscriptions()
    await rt.transact(lambda uow: webhook_matching.on_event(event, uow, subscriptions=fresh))
    assert len(await log_of(gateway, mine, ours["id"])) == 3


async def _event_of(bus: Bus, event_id: str) -> Envelope:
    """The event as JetStream holds it."""
    for found in await stream_events(bus, "CASES"):
        if found["id"] == event_id:  # (its own `subject` overrides the NATS subject's)
            return Envelope.model_validate(found)
    raise AssertionError(f"event {event_id} not found")
