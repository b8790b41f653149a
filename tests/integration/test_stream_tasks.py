"""The feed carries a task's whole life and the desk's alerts, with facts only, and the scope
rules hold for them: an officer sees his beat's tasks, a social worker her organisation's
(one joining by a reassignment), and the desk's alerts stay the desk's."""

from __future__ import annotations

from contextlib import AsyncExitStack
from datetime import timedelta
from typing import Any

from gateway.stream_events import FIELDS
from shared.contracts.alerts import PatrolAlertRaised
from shared.contracts.cases import Escalation, TaskEscalated
from shared.contracts.notifications import role_inbox, user_inbox
from shared.events import Envelope, EventData, utcnow
from shared.identity import Role
from tests.integration.sse import Listener, listening, serving
from tests.support import REPORT, Gateway, eventually

NAME, ID_NUMBER = REPORT["student"]["name"], REPORT["student"]["id_number"]
USERS = ("dispatcher1", "officer1", "officer4", "social1", "social2")


async def _ready(app: Any) -> bool:
    return bool(app.state.stream.ready.is_set())


def _task_ids(listener: Listener, kind: str) -> set[str]:
    return {e["task_id"] for e in listener.of_type(kind)}


def _only_allowed(listener: Listener) -> None:
    for message in listener.events:
        if message.event in FIELDS:
            extra = set(message.data) - {"event_id", "type", "time"} - set(FIELDS[message.event])
            assert extra == set(), (message.event, extra)


async def test_a_tasks_life_reaches_the_desk_and_only_the_scoped_field(gateway: Gateway) -> None:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app))
    async with AsyncExitStack() as stack:
        base = await stack.enter_async_context(serving(app))
        streams = {
            u: await stack.enter_async_context(
                listening(base, token=(await gateway.auth(u))["Authorization"][7:])
            )
            for u in USERS
        }
        report = (await gateway.file("teacher1", REPORT)).json()["id"]
        tasks = await gateway.tasks_of(report, 2)
        police = next(t for t in tasks if t["agency"] == "police")
        social = next(t for t in tasks if t["agency"] == "social_work")
        for move, body in (("ack", None), ("start", None), ("done", {"outcome": "Spoke to Li"})):
            r = await gateway.call(
                "officer1", "POST", f"/v1/tasks/{police['id']}/{move}", json=body
            )
            assert r.status_code == 200, r.text
        await streams["dispatcher1"].has("task.completed", 1)
        await streams["officer1"].has("task.completed", 1)
        r = await gateway.call(
            "dispatcher1",
            "POST",
            f"/v1/tasks/{social['id']}/reassign",
            json={"assignee_org_id": "org-sunflower", "reason": "Family moved to Wang's flat"},
        )
        assert r.status_code == 200, r.text
        moved = await streams["social2"].has("task.reassigned", 1)  # the org joins the case
        await streams["dispatcher1"].has("task.reassigned", 1)
        r = await gateway.call(
            "dispatcher1",
            "POST",
            f"/v1/tasks/{social['id']}/cancel",
            json={"reason": "Handled by Zhao's team"},
        )
        assert r.status_code == 200, r.text
        await streams["social2"].has("task.cancelled", 1)
        await streams["dispatcher1"].has("task.cancelled", 1)
    desk = streams["dispatcher1"]
    assert _task_ids(desk, "task.started") == {police["id"]}
    assert _task_ids(desk, "task.completed") == {police["id"]}
    assert moved[0]["assignee_org_id"] == "org-sunflower"
    assert moved[0]["previous_org_id"] == social["assignee_org_id"]
    assert "reason" not in moved[0]
    # Officer: his beat's school. Social worker: her organisation's cases only, and a
    # reassignment brings the new organisation in from then on, not before.
    assert _task_ids(streams["officer1"], "task.started") == {police["id"]}
    assert _task_ids(streams["officer4"], "task.started") == set()
    assert _task_ids(streams["officer4"], "task.reassigned") == set()
    assert _task_ids(streams["social1"], "task.started") == {police["id"]}
    assert _task_ids(streams["social2"], "task.started") == set()
    assert _task_ids(streams["social2"], "task.cancelled") == {social["id"]}
    for user, listener in streams.items():
        for secret in (NAME, ID_NUMBER, "Spoke to Li", "Wang's flat", "Zhao's team"):
            assert secret not in listener.raw, (user, secret)
        _only_allowed(listener)


async def test_escalations_and_desk_alerts_arrive_and_alerts_stay_the_desks(
    gateway: Gateway,
) -> None:
    app = gateway.apps["gateway"]
    await eventually(lambda: _ready(app))
    report = (await gateway.file("teacher1", REPORT)).json()["id"]
    police = next(t for t in await gateway.tasks_of(report, 2) if t["agency"] == "police")
    escalated = TaskEscalated(
        task_id=police["id"],
        case_id=police["case_id"],
        title=police["title"],
        risk_level=police["risk_level"],
        level=Escalation.desk,
        ack_due_at=utcnow(),
    )
    desk_alert = PatrolAlertRaised(
        alert_id="post_unstaffed-test",
        kind="post_unstaffed",
        recipients=(role_inbox(Role.dispatcher),),
        title="Gate post at sch-01: nobody checked in, ask Wang",
        school_id="sch-01",
        due_at=utcnow() + timedelta(minutes=5),
    )
    personal = PatrolAlertRaised(
        alert_id="letter_expiring-test",
        kind="letter_expiring",
        recipients=(user_inbox("officer1"),),
        title="Letter expiring",
        school_id="sch-01",
    )
    async with AsyncExitStack() as stack:
        base = await stack.enter_async_context(serving(app))
        streams = {
            u: await stack.enter_async_context(
                listening(base, token=(await gateway.auth(u))["Authorization"][7:])
            )
            for u in ("dispatcher1", "officer1", "officer4")
        }
        case_bus = gateway.apps["case_tracking"].state.runtime.bus  # each subject's real owner
        patrol_bus = gateway.apps["patrol"].state.runtime.bus
        await case_bus.publish(_wrap(escalated, "case_tracking"))
        await patrol_bus.publish(_wrap(personal, "patrol"))
        await patrol_bus.publish(_wrap(desk_alert, "patrol"))
        alerts = await streams["dispatcher1"].has("patrol.alert.raised", 1)
        await streams["dispatcher1"].has("task.escalated", 1)
        await streams["officer1"].has("task.escalated", 1)
    assert [a["alert_id"] for a in alerts] == ["post_unstaffed-test"]  # not the personal one
    assert set(alerts[0]) == {"event_id", "type", "time", "alert_id", "kind", "school_id", "due_at"}
    assert "Wang" not in streams["dispatcher1"].raw
    assert streams["officer1"].of_type("patrol.alert.raised") == []  # the desk's, not his
    assert streams["officer4"].of_type("task.escalated") == []  # another beat
    assert streams["dispatcher1"].of_type("task.escalated")[0]["level"] == "desk"


def _wrap(data: EventData, source: str) -> Envelope:
    return Envelope.wrap(data, source=source, subject="stream-test", correlation_id="stream-test")
