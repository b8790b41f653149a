"""The escalation ladder on real NATS with deadlines scaled to seconds: a critical task nobody
acknowledges goes to the desk, then the supervisor, and is overdue past its due time;
acknowledging stops it; with two replicas each escalation still happens exactly once.

Scale 0.004: a critical task's acknowledgement window (5 min) is 1.2 s, the supervisor hears
of it after 8 windows (9.6 s), a critical police task is due in 7.2 s (30 min).
"""

from __future__ import annotations

import collections
from contextlib import AsyncExitStack
from typing import Any

import pytest

from services.case_tracking.app import create_app as case_tracking_app
from shared.bus import Bus
from shared.streams import CASE_TRACKING_TIMERS
from tests.integration.tasks import new_child, notice, notices, stream_events
from tests.support import Gateway, eventually

CRITICAL = {"severity": "critical"}


@pytest.fixture
def case_tracking_settings() -> dict[str, Any]:
    # Critical: desk after 1.2 s, overdue after 7.2 s, supervisor after 24 s. The supervisor step
    # is far from the others so that a loaded machine still acknowledges in time where the test
    # wants the ladder stopped (it was 9.6 s, and CI once missed it).
    return {"deadline_scale": 0.004, "supervisor_factor": 20.0}


async def timers_settled(bus: Bus, task_id: str, step: str) -> None:
    """Wait until the task's `step` timer has fired and case_tracking has consumed it."""

    async def probe() -> bool:
        fired = [
            e
            for e in await stream_events(bus, "TIMERS", "timer.task.due.v1")
            if (e["data"]["task_id"], e["data"]["step"]) == (task_id, step)
        ]
        info = await bus.js.consumer_info("TIMERS", CASE_TRACKING_TIMERS.durable)
        return bool(fired) and info.num_pending == 0 and info.num_ack_pending == 0

    await eventually(probe, within=30)


async def escalations(bus: Bus) -> collections.Counter[tuple[str, str]]:
    events = await stream_events(bus, "CASES", "task.escalated.v1")
    return collections.Counter((e["data"]["task_id"], e["data"]["level"]) for e in events)


async def test_unacknowledged_goes_to_the_desk_then_the_supervisor_and_ack_stops_it(
    gateway: Gateway, admin_bus: Bus
) -> None:
    police, social = await new_child(gateway, "Ladder Child", **CRITICAL)
    for task in (police, social):
        # Due at 1.2 s; bounded at 12 s, half the supervisor step, so that the social worker's
        # acknowledgement below still comes before it on a loaded machine (5 s was missed once
        # on two workers: a timer's firing, two consumers and a read in turn).
        desk = await notice(
            gateway, "dispatcher1", kind="task_escalated", task_id=task["id"], within=12
        )
        assert desk["title"].startswith("URGENT [critical]")
    # The social worker takes hers up now; the officer does not.
    assert (
        await gateway.call("social1", "POST", f"/v1/tasks/{social['id']}/ack")
    ).status_code == 200
    await notice(gateway, "officer1", kind="task_overdue", task_id=police["id"], within=30)
    await notice(gateway, "dispatcher1", kind="task_overdue", task_id=police["id"])
    boss = await notice(
        gateway, "supervisor1", kind="task_escalated", task_id=police["id"], within=60
    )
    assert boss["recipient"] == "role:supervisor"

    await timers_settled(admin_bus, social["id"], "supervisor")
    assert "task_escalated" not in await notices(gateway, "supervisor1", task_id=social["id"])
    counts = await escalations(admin_bus)
    assert counts[(police["id"], "desk")] == counts[(police["id"], "supervisor")] == 1
    assert (counts[(social["id"], "desk")], counts[(social["id"], "supervisor")]) == (1, 0)

    case = (await gateway.get("dispatcher1", f"/v1/cases/{police['case_id']}")).json()
    kinds = [e["kind"] for e in case["chronology"] if e["ref"] == police["id"]]
    assert kinds == ["task_created", "task_escalated", "task_overdue", "task_escalated"]
    task = (await gateway.get("dispatcher1", f"/v1/tasks/{police['id']}")).json()
    assert task["escalation"] == "supervisor"


async def test_with_two_replicas_each_escalation_happens_exactly_once(
    gateway: Gateway, admin_bus: Bus
) -> None:
    first = gateway.apps["case_tracking"]
    second = case_tracking_app(first.state.settings)  # same store, same durable consumers
    async with AsyncExitStack() as stack:
        await stack.enter_async_context(second.router.lifespan_context(second))
        children = [await new_child(gateway, f"Replica Child {n}", **CRITICAL) for n in range(6)]
        tasks = [t["id"] for pair in children for t in pair]

        async def all_escalated() -> collections.Counter[tuple[str, str]] | None:
            counts = await escalations(admin_bus)
            wanted = [(t, level) for t in tasks for level in ("desk", "supervisor")]
            return counts if all(counts[k] for k in wanted) else None

        await eventually(all_escalated, within=60)
        for task in tasks:  # every timer fired and consumed: nothing more can come
            await timers_settled(admin_bus, task, "supervisor")

        async def relayed() -> bool:
            left: int = await first.state.runtime.store.count("outbox")
            return left == 0

        await eventually(relayed)
    counts = await escalations(admin_bus)
    assert {k: v for k, v in counts.items() if k[0] in tasks and v != 1} == {}
    assert len([k for k in counts if k[0] in tasks]) == 2 * len(tasks)
