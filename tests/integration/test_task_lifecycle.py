"""A task's life through the gateway with real NATS: acknowledged, started, done with a sealed
outcome; declined back to the desk and reassigned; cancelled with its case; a repeat report
joins the open task; the outcome is erased with the child."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from services.school_liaison.retention import sweep_retention
from shared.bus import Bus
from tests.integration.tasks import new_child, notice, stream_events, stream_text
from tests.integration.test_privacy_retention import _past_retention
from tests.support import Gateway, eventually

OUTCOME = "Zhou Yu was at her aunt's; the aunt agreed to bring her to counselling weekly"


async def move(gw: Gateway, user: str, task_id: str, name: str, **body: Any) -> Any:
    return await gw.call(user, "POST", f"/v1/tasks/{task_id}/{name}", json=body or None)


async def test_a_task_is_taken_up_and_done_with_an_outcome_only_casework_reads(
    gateway: Gateway, admin_bus: Bus, tmp_path: Path
) -> None:
    police, _ = await new_child(gateway, "Zhou Yu")
    tid = police["id"]
    early = await move(gateway, "officer1", tid, "start")
    assert early.status_code == 409
    assert "open" in early.json()["detail"]
    for step in ("ack", "start"):
        assert (await move(gateway, "officer1", tid, step)).status_code == 200
    done = await move(gateway, "officer1", tid, "done", outcome=OUTCOME)
    assert done.status_code == 200, done.text
    assert (done.json()["status"], done.json()["finished_by"]) == ("done", "officer1")
    assert "outcome" not in done.json()
    again = await move(gateway, "officer1", tid, "done", outcome="twice")
    assert (again.status_code, again.json()["detail"]) == (
        409,
        "cannot complete a task that is done",
    )
    for reader in ("officer1", "dispatcher1", "supervisor1"):
        read = await gateway.get(reader, f"/v1/tasks/{tid}")
        assert read.status_code == 200, reader
        assert read.json()["outcome"] == OUTCOME
    assert (await gateway.get("teacher1", f"/v1/tasks/{tid}")).status_code == 403
    assert (await gateway.get("officer4", f"/v1/tasks/{tid}")).status_code == 404

    # Never in an event, an inbox, a chronology or case_tracking's files.
    await notice(gateway, "dispatcher1", kind="task_acknowledged", task_id=tid)
    assert "Zhou Yu" not in await stream_text(admin_bus, "CASES", "TIMERS")
    case = (await gateway.get("dispatcher1", f"/v1/cases/{police['case_id']}")).json()
    assert "Zhou Yu" not in str(case)
    assert [e["kind"] for e in case["chronology"]][-3:] == [
        "task_acknowledged",
        "task_started",
        "task_done",
    ]
    files = [tmp_path / "case_tracking.db", tmp_path / "case_tracking.db-wal"]
    data = b"".join(f.read_bytes() for f in files if f.exists())
    assert b"outcome_sealed" in data
    assert b"Zhou Yu" not in data
    types = [e["type"] for e in await stream_events(admin_bus, "CASES", "task.>")]
    assert {"task.started", "task.completed"} <= set(types)


async def test_declined_back_to_the_desk_and_reassigned_both_assignees_are_told(
    gateway: Gateway,
) -> None:
    _, social = await new_child(gateway, "Qian Lei")
    tid = social["id"]
    assert (await move(gateway, "social1", tid, "decline", reason="")).status_code == 422
    declined = await move(gateway, "social1", tid, "decline", reason="No capacity this month")
    assert declined.json()["status"] == "declined"
    await notice(gateway, "dispatcher1", kind="task_declined", task_id=tid)

    unknown = await move(gateway, "dispatcher1", tid, "reassign", assignee_org_id="org-none")
    assert unknown.status_code == 422
    assert unknown.json()["detail"][0]["loc"] == ["body", "assignee_org_id"]
    wrong = await move(gateway, "dispatcher1", tid, "reassign", assignee_user_id="officer1")
    assert wrong.status_code == 422
    assert wrong.json()["detail"][0]["loc"] == ["body", "assignee_user_id"]
    assert (await move(gateway, "social1", tid, "reassign", assignee_org_id="x")).status_code == 403

    moved = await move(gateway, "dispatcher1", tid, "reassign", assignee_org_id="org-sunflower")
    assert moved.status_code == 200, moved.text
    assert (moved.json()["status"], moved.json()["assignee_org_id"]) == ("open", "org-sunflower")
    await notice(gateway, "social2", kind="task_assigned", task_id=tid)  # the new organisation
    await notice(gateway, "social1", kind="task_reassigned", task_id=tid)  # the old one
    # The new organisation sees the case and takes the task up; the old one no longer may.
    assert (await move(gateway, "social2", tid, "ack")).status_code == 200
    assert (await move(gateway, "social1", tid, "start")).status_code == 403


async def test_closing_a_case_cancels_its_open_tasks_and_tells_their_assignees(
    gateway: Gateway,
) -> None:
    police, social = await new_child(gateway, "Sun Hao")
    assert (await move(gateway, "officer1", police["id"], "ack")).status_code == 200
    closed = await gateway.call(
        "supervisor1", "POST", f"/v1/cases/{police['case_id']}/close", json={"reason": "moved"}
    )
    assert closed.status_code == 200
    tasks = (await gateway.get("dispatcher1", "/v1/tasks", case_id=police["case_id"])).json()
    assert {(t["status"], t["reason"]) for t in tasks} == {("cancelled", "case closed")}
    await notice(gateway, "officer1", kind="task_cancelled", task_id=police["id"])
    await notice(gateway, "social1", kind="task_cancelled", task_id=social["id"])
    late = await move(gateway, "officer1", police["id"], "start")
    assert (late.status_code, late.json()["detail"]) == (
        409,
        "cannot start a task that is cancelled",
    )


async def test_a_repeat_report_joins_the_open_task_and_a_new_need_starts_new_ones(
    gateway: Gateway,
) -> None:
    police, social = await new_child(gateway, "Zhao Min", severity="low")
    body = {"school_id": "sch-01", "description": "Worse this week", "severity": "critical"}
    again = await gateway.file(
        "teacher1", {**body, "category": "bullying_victim", "student": {"name": "Zhao Min"}}
    )
    assert again.status_code == 201

    async def raised() -> list[dict[str, Any]]:
        tasks = (await gateway.get("dispatcher1", "/v1/tasks", case_id=police["case_id"])).json()
        return tasks if any(len(t["report_ids"]) == 2 for t in tasks) else []

    tasks = sorted(await eventually(raised), key=lambda t: t["agency"])  # police first
    assert [t["id"] for t in tasks] == [police["id"], social["id"]]  # no second pair
    for task, before in zip(tasks, (police, social), strict=True):
        assert task["report_ids"] == [police["report_id"], again.json()["id"]]
        assert task["risk_level"] == "critical"
        assert task["due_at"] < before["due_at"]  # brought forward
        assert task["ack_due_at"] < before["ack_due_at"]
    await notice(gateway, "officer1", kind="task_report_added", task_id=police["id"])

    other = await gateway.file(
        "teacher1", {**body, "category": "truancy", "student": {"name": "Zhao Min"}}
    )
    linked = await gateway.tasks_of(other.json()["id"], 3)
    kinds = sorted(t["kind"] for t in linked)
    # Truancy's home visit is new work; its family work is new too: two new tasks.
    assert kinds == ["counselling", "family_work", "home_visit", "school_visit"]


async def test_the_outcome_is_erased_with_the_child_at_retention(gateway: Gateway) -> None:
    police, _ = await new_child(gateway, "Wu Fang")
    tid = police["id"]
    for step in ("ack", "start"):
        await move(gateway, "officer1", tid, step)
    await move(gateway, "officer1", tid, "done", outcome=OUTCOME)
    closed = await gateway.call(
        "supervisor1", "POST", f"/v1/cases/{police['case_id']}/close", json={"reason": "safe"}
    )
    assert closed.status_code == 200
    runtime = gateway.apps["school_liaison"].state.runtime
    store = gateway.store("school_liaison")

    async def pending() -> bool:
        return await store.get("pending_erasures", police["child_ref"]) is not None

    await eventually(pending)
    assert await sweep_retention(runtime, now=_past_retention(gateway)) == [police["child_ref"]]

    async def erased() -> bool:
        read = (await gateway.get("officer1", f"/v1/tasks/{tid}")).json()
        return read["outcome"] is None

    await eventually(erased)
    assert await gateway.store("case_tracking").get("case_keys", police["case_id"]) is None
    stored = await gateway.store("case_tracking").get("tasks", tid)
    assert stored["outcome_sealed"] is None
