"""The escalation ladder on the platform as `make run` starts it (separate processes), with
deadlines scaled to seconds: a critical report nobody acknowledges goes to the duty desk, then to
the supervisor; once acknowledged, the ladder stops.

Scale 0.004 and 4 windows to the supervisor: a critical task's acknowledgement window (5 min) is
1.2 s, the supervisor hears of it at 4.8 s.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from typing import Any

import pytest

from deploy.launcher import Platform, Ports
from tests.e2e.test_platform import Client
from tests.support import eventually_sync

SCALED = {
    "HULEI_CASE_TRACKING_DEADLINE_SCALE": "0.004",
    "HULEI_CASE_TRACKING_SUPERVISOR_FACTOR": "4",
}


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(
        var_dir=tmp_path_factory.mktemp("var"), ports=Ports.free(), extra_env=SCALED
    ) as p:
        yield p


def test_critical_unacknowledged_goes_to_the_desk_then_the_supervisor_until_acknowledged(
    platform: Platform,
) -> None:
    client = Client(platform.gateway_url)
    body = {
        "school_id": "sch-01",
        "category": "self_harm",
        "description": "Said she has a plan to hurt herself tonight",
        "student": {"name": "Ladder Girl"},
    }
    filed = client.file(body)
    assert filed.status_code == 201, filed.text

    def tasks() -> dict[str, dict[str, Any]] | None:
        case_id = client.get("teacher1", f"/v1/reports/{filed.json()['id']}").json()["case_id"]
        found = client.get("dispatcher1", "/v1/tasks", case_id=case_id).json() if case_id else []
        return {t["agency"]: t for t in found} if len(found) == 2 else None

    both = eventually_sync(tasks, within=10)
    police, social = both["police"], both["social_work"]
    assert police["risk_level"] == "critical"

    def told(user: str, kind: str, task: dict[str, Any]) -> list[dict[str, Any]]:
        answer = client.get(user, "/v1/notifications", limit=500)
        assert answer.status_code == 200, answer.text
        return [n for n in answer.json() if (n["kind"], n["task_id"]) == (kind, task["id"])]

    # Polled at 10 a second: under the gateway's 20 a second per user (burst 60), which a
    # 20 ms poll of one user for the supervisor's 4.8 s used up (429).
    poll = functools.partial(eventually_sync, within=30, interval=0.1)

    for task in (police, social):
        desk = poll(functools.partial(told, "dispatcher1", "task_escalated", task))
        assert desk[0]["title"].startswith("URGENT [critical]")
    # The social worker acknowledges hers now, before its supervisor deadline (4.8 s).
    acked = client.http.post(f"/v1/tasks/{social['id']}/ack", headers=client.auth("social1"))
    assert acked.status_code == 200, acked.text
    poll(lambda: told("supervisor1", "task_escalated", police))

    # The police task's overdue alert (30 min → 7.2 s) comes after the social task's supervisor
    # deadline (4.8 s): once it is there, that timer has fired, into nothing.
    poll(lambda: told("officer1", "task_overdue", police))
    assert told("supervisor1", "task_escalated", social) == []
    assert len(told("dispatcher1", "task_escalated", police)) == 1
    assert len(told("supervisor1", "task_escalated", police)) == 1
    detail = client.get("dispatcher1", f"/v1/tasks/{social['id']}").json()
    assert (detail["status"], detail["escalation"]) == ("acknowledged", "desk")
    late = client.http.post(f"/v1/tasks/{police['id']}/ack", headers=client.auth("officer1"))
    assert late.status_code == 200  # acknowledging late still stops what is left
