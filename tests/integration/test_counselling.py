"""Counselling through the gateway, on real NATS and SQLite: an acute-risk session becomes a
case with its tasks, missed and overdue sessions reach the counsellor's inbox, bad input is a
422 naming the field, and the student's details are in no other process's store."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.school_liaison.counselling.sweep import sweep_overdue
from tests.support import Gateway, eventually

STUDENT = {"name": "Sun Xiaoyu", "id_number": "140502201208081236", "grade": "Grade 8"}
NOTE = "Said she has a plan to hurt herself this weekend"
ENTRY = {"school_id": "sch-04", "reason": "psychological_imbalance", "student": STUDENT}


def session_at(when: datetime, counsellor: str = "social1") -> dict[str, Any]:
    return {
        "scheduled_at": when.isoformat(),
        "counsellor_id": counsellor,
        "counsellor_role": "social_worker",
        "place": "Counselling room, building B",
    }


async def listed(gateway: Gateway, body: dict[str, Any] = ENTRY, user: str = "teacher4") -> str:
    r = await gateway.call(user, "POST", "/v1/counselling/entries", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def scheduled(gateway: Gateway, entry_id: str, when: datetime) -> str:
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    r = await gateway.call("teacher4", "POST", path, json=session_at(when))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def inbox_kinds(gateway: Gateway, user: str) -> set[str]:
    return {n["kind"] for n in (await gateway.get(user, "/v1/notifications")).json()}


async def test_an_acute_risk_session_opens_a_case_with_police_and_social_tasks(
    gateway: Gateway, tmp_path: Path
) -> None:
    entry_id = await listed(gateway)
    session_id = await scheduled(gateway, entry_id, datetime.now(UTC))
    record = {"state": 1, "acute_risk": True, "note": NOTE, "attended_by": ["teacher4"]}
    r = await gateway.call(
        "social1", "POST", f"/v1/counselling/sessions/{session_id}/record", json=record
    )
    assert r.status_code == 200, r.text
    report_id = r.json()["report_id"]
    tasks = await gateway.tasks_of(report_id, 2, reader="teacher4")
    assert {t["agency"] for t in tasks} == {"police", "social_work"}
    assert {t["assignee_user_id"] for t in tasks} >= {"officer2"}  # sch-04's officer
    case = (await gateway.get("officer2", f"/v1/cases/{tasks[0]['case_id']}")).json()
    assert case["risk_level"] == "critical"
    # The state over time, as each may see it: the desk without the note.
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    mine = (await gateway.get("teacher4", path)).json()
    assert [(s["state"], s["note"]) for s in mine] == [(1, NOTE)]
    desk = (await gateway.get("dispatcher1", path)).json()
    assert [s["state"] for s in desk] == [1]
    assert "note" not in desk[0]
    listing = await gateway.get("dispatcher1", "/v1/counselling/entries", school_id="sch-04")
    assert [e["latest_state"] for e in listing.json()] == [1]
    assert "student" not in listing.json()[0]
    await eventually(lambda: _inbox_has(gateway, "officer2", "task_assigned"))
    # Nowhere but school_liaison's sealed records: not in the other processes' stores.
    for name in ("case_tracking", "notifications", "patrol", "gateway"):
        data = stored_bytes(tmp_path, name)
        assert data, name
        for secret in (*STUDENT.values(), NOTE):
            assert secret.encode() not in data, (name, secret)


def stored_bytes(folder: Path, name: str) -> bytes:
    """A SQLite store's file and its write-ahead log."""
    return b"".join(p.read_bytes() for p in folder.glob(f"{name}.db*"))


async def _inbox_has(gateway: Gateway, user: str, kind: str) -> bool:
    return kind in await inbox_kinds(gateway, user)


async def test_a_missed_session_reaches_the_counsellors_inbox(gateway: Gateway) -> None:
    entry_id = await listed(gateway)
    session_id = await scheduled(gateway, entry_id, datetime.now(UTC))
    r = await gateway.call("teacher4", "POST", f"/v1/counselling/sessions/{session_id}/missed")
    assert (r.status_code, r.json()["status"]) == (200, "missed")
    await eventually(lambda: _inbox_has(gateway, "social1", "counselling_session_missed"))
    again = await gateway.call("teacher4", "POST", f"/v1/counselling/sessions/{session_id}/missed")
    assert again.status_code == 409


async def test_an_overdue_session_alerts_once_whatever_the_number_of_sweeps(
    gateway: Gateway,
) -> None:
    entry_id = await listed(gateway)
    when = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    session_id = await scheduled(gateway, entry_id, when)
    runtime = gateway.apps["school_liaison"].state.runtime
    grace = timedelta(hours=24)
    assert await sweep_overdue(runtime, now=when + grace, grace=grace) == []
    later = when + grace + timedelta(minutes=5)
    assert await sweep_overdue(runtime, now=later, grace=grace) == [session_id]
    assert await sweep_overdue(runtime, now=later + grace, grace=grace) == []

    async def alerts() -> list[Any]:
        entries = (await gateway.get("social1", "/v1/notifications")).json()
        return [n for n in entries if n["kind"] == "counselling_session_overdue"]

    assert len(await eventually(alerts)) == 1


def names(r: Any, field: str) -> None:
    assert r.status_code == 422, r.text
    assert [d["loc"][-1] for d in r.json()["detail"]] == [field]


async def test_bad_counselling_input_is_a_422_naming_the_field(gateway: Gateway) -> None:
    both = {**ENTRY, "child_ref": "child-x"}
    r = await gateway.call("teacher4", "POST", "/v1/counselling/entries", json=both)
    names(r, "child_ref")
    unknown = {**ENTRY, "school_id": "sch-99"}
    r = await gateway.call("teacher4", "POST", "/v1/counselling/entries", json=unknown)
    names(r, "school_id")
    entry_id = await listed(gateway)
    naive = {
        **session_at(datetime(2026, 3, 2, 9, 0, tzinfo=UTC)),
        "scheduled_at": "2026-03-02T09:00",
    }
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    r = await gateway.call("teacher4", "POST", path, json=naive)
    names(r, "scheduled_at")
    session_id = await scheduled(gateway, entry_id, datetime.now(UTC))
    bad = {"state": 9, "note": "x"}
    r = await gateway.call(
        "social1", "POST", f"/v1/counselling/sessions/{session_id}/record", json=bad
    )
    names(r, "state")
    [untouched] = (await gateway.get("teacher4", path)).json()
    assert untouched["status"] == "scheduled"  # nothing half-done
