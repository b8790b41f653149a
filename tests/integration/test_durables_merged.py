"""A process's effects of one stream's events go through its one durable on that stream
(shared/streams.py): what two durables each did before session 7 still happens, and each event
is marked processed once, under the merged durable, in the process that acts on it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx

from services.school_liaison.retention import sweep_retention
from shared.events import utcnow
from shared.identity import Principal, Role
from shared.processed import PROCESSED
from shared.streams import RETIRED
from shared.web import INTERNAL_HEADER
from tests.support import Gateway, eventually

# A police home visit (a welfare check for patrol) and a social worker's counselling.
REPORT: dict[str, Any] = {
    "school_id": "sch-01",
    "category": "self_harm",
    "description": "Cuts on her forearm",
    "student": {"name": "Zhao Lan"},
}
SUPERVISOR = Principal(user_id="supervisor1", role=Role.supervisor)


async def marks(gateway: Gateway, service: str, durable: str) -> set[str]:
    """The ids of the events `durable` processed in `service`."""
    rows = await gateway.store(service).find(PROCESSED)
    return {r["id"].removeprefix(f"{durable}:") for r in rows if r["id"].startswith(f"{durable}:")}


def at_least(n: int, gateway: Gateway, service: str, durable: str) -> Any:
    async def probe() -> set[str]:
        found = await marks(gateway, service, durable)
        return found if len(found) >= n else set()

    return probe


async def close(gateway: Gateway, case_id: str) -> None:
    app = gateway.apps["case_tracking"]
    token = gateway.internal_token(SUPERVISOR, service="case_tracking")
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://case_tracking"
    ) as client:
        r = await client.post(
            f"/cases/{case_id}/close", json={"reason": "Safe"}, headers={INTERNAL_HEADER: token}
        )
    assert r.status_code == 200, r.text


async def test_each_process_acts_on_both_subject_sets_through_its_one_durable(
    gateway: Gateway,
) -> None:
    filed = await gateway.file("teacher1", REPORT)
    assert filed.status_code == 201, filed.text
    rid = filed.json()["id"]
    tasks = await gateway.tasks_of(rid, 2)
    police = next(t for t in tasks if t["agency"] == "police")
    case_id = police["case_id"]

    # patrol: case.opened counted, both task.created counted and the police visit planned.
    patrol = gateway.store("patrol")
    counted = await eventually(at_least(3, gateway, "patrol", "patrol-cases"))
    assert len(counted) == 3
    assert all([await patrol.get("figures_counted", event_id) for event_id in counted])
    assert await patrol.get("welfare_checks", f"wc-{police['id']}") is not None

    # school_liaison: the report linked to its case, then the case's closure starts retention.
    async def linked() -> str | None:
        case: str | None = (await gateway.get("teacher1", f"/v1/reports/{rid}")).json()["case_id"]
        return case

    assert await eventually(linked) == case_id
    await close(gateway, case_id)
    child = filed.json()["child_ref"]
    pending = await eventually(
        lambda: gateway.store("school_liaison").get("pending_erasures", child)
    )
    assert pending["closed_case_ids"] == [case_id]
    assert len(await marks(gateway, "school_liaison", "school_liaison-cases")) == 2

    # case_tracking: the report it took, then the child's erasure once retention has run.
    runtime = gateway.apps["school_liaison"].state.runtime
    later = utcnow() + timedelta(days=runtime.settings.retention_days + 1)
    assert await sweep_retention(runtime, now=later) == [child]
    await eventually(at_least(2, gateway, "case_tracking", "case_tracking-school"))

    for old in RETIRED:  # nothing processed under a retired name, in any process
        service = old.durable.partition("-")[0]
        assert await marks(gateway, service, old.durable) == set(), old.durable
