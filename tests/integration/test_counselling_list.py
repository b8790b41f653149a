"""A student taken off the counselling list, the child erased by retention when it was only
ever on a list, and a session's counsellor checked against the accounts: through the gateway,
on real NATS and SQLite, with the retention clock handed in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from services.school_liaison.counselling.sweep import sweep_overdue
from services.school_liaison.retention import sweep_retention
from shared.bus import Bus
from tests.integration.test_counselling import names, session_at, stored_bytes
from tests.support import Gateway, eventually

STUDENT = {"name": "Qiao Nianzu", "id_number": "140502201309097739", "grade": "Grade 7"}
ENTRY = {"school_id": "sch-04", "reason": "truancy", "student": STUDENT}
NOTE = "Skipped three mornings; says the bus is the problem"
REMOVED = {"reason": "improved"}


async def _listed(gateway: Gateway) -> dict[str, Any]:
    r = await gateway.call("teacher4", "POST", "/v1/counselling/entries", json=ENTRY)
    assert r.status_code == 201, r.text
    return dict(r.json())


def _remove(entry_id: str) -> str:
    return f"/v1/counselling/entries/{entry_id}/remove"


async def _held_session(gateway: Gateway, entry_id: str) -> None:
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    r = await gateway.call("teacher4", "POST", path, json=session_at(datetime.now(UTC)))
    assert r.status_code == 201, r.text
    record = {"state": 3, "note": NOTE}
    r = await gateway.call(
        "social1", "POST", f"/v1/counselling/sessions/{r.json()['id']}/record", json=record
    )
    assert r.status_code == 200, r.text


async def test_a_child_only_on_a_list_is_erased_once_off_it_past_retention(
    gateway: Gateway, tmp_path: Path, admin_bus: Bus
) -> None:
    entry = await _listed(gateway)
    child, entry_id = entry["child_ref"], entry["id"]
    await _held_session(gateway, entry_id)
    runtime = gateway.apps["school_liaison"].state.runtime
    days = runtime.settings.retention_days
    far = datetime.now(UTC) + timedelta(days=10 * days)
    assert await sweep_retention(runtime, now=far) == []  # on the list: never due

    r = await gateway.call("teacher4", "POST", _remove(entry_id), json=REMOVED)
    assert r.status_code == 200, r.text
    assert (r.json()["removal_reason"], r.json()["removed_by"]) == ("improved", "teacher4")
    # Off the list, its history stays readable to those who may see it until retention ends.
    [listed] = (await gateway.get("teacher4", "/v1/counselling/entries", school_id="sch-04")).json()
    assert listed["student"]["name"] == STUDENT["name"]
    assert listed["removed_at"]
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    assert [s["note"] for s in (await gateway.get("social1", path)).json()] == [NOTE]

    now = datetime.now(UTC)
    assert await sweep_retention(runtime, now=now + timedelta(days=days - 1)) == []
    assert await sweep_retention(runtime, now=now + timedelta(days=days + 1)) == [child]

    store = gateway.store("school_liaison")
    assert await store.get("child_keys", child) is None
    assert await store.get("pending_erasures", child) is None
    data = stored_bytes(tmp_path, "school_liaison")
    assert b"counselling_entries" in data or b"cnl-" in data  # the entry is still there
    for secret in (STUDENT["name"], STUDENT["id_number"], "Nianzu", NOTE):
        assert secret.encode() not in data, secret
    [after] = (await gateway.get("teacher4", "/v1/counselling/entries", school_id="sch-04")).json()
    assert "student" not in after
    [session] = (await gateway.get("social1", path)).json()
    assert session["state"] == 3  # the facts stay
    assert "note" not in session

    async def erased() -> dict[str, Any] | None:
        try:
            msg = await admin_bus.js.get_last_msg("SCHOOL", "school.child.erased.v1")
        except Exception:
            return None
        return dict(json.loads(msg.data or b"{}"))

    event = await eventually(erased)
    assert event["data"]["child_ref"] == child
    assert event["data"]["reports_erased"] == 0  # a list, no report


async def test_a_child_with_an_open_case_is_not_erased_when_taken_off_the_list(
    gateway: Gateway,
) -> None:
    report = {
        "school_id": "sch-04",
        "category": "truancy",
        "description": "Absent most of the week",
        "student": STUDENT,
    }
    filed = await gateway.file("teacher4", report)
    assert filed.status_code == 201, filed.text
    await gateway.tasks_of(filed.json()["id"], 1, reader="teacher4")
    entry = await _listed(gateway)
    assert entry["child_ref"] == filed.json()["child_ref"]
    r = await gateway.call("teacher4", "POST", _remove(entry["id"]), json=REMOVED)
    assert r.status_code == 200, r.text
    runtime = gateway.apps["school_liaison"].state.runtime
    far = datetime.now(UTC) + timedelta(days=10 * runtime.settings.retention_days)
    assert await sweep_retention(runtime, now=far) == []  # its case is still open
    assert await gateway.store("school_liaison").get("child_keys", entry["child_ref"])


async def test_taking_a_student_off_the_list_refuses_what_it_must(gateway: Gateway) -> None:
    entry_id = (await _listed(gateway))["id"]
    r = await gateway.call("teacher4", "POST", _remove("cnl-nope"), json=REMOVED)
    assert r.status_code == 404
    r = await gateway.call("teacher1", "POST", _remove(entry_id), json=REMOVED)
    assert r.status_code == 404  # another school's list
    r = await gateway.call("dispatcher1", "POST", _remove(entry_id), json=REMOVED)
    assert r.status_code == 403
    names(await gateway.call("teacher4", "POST", _remove(entry_id), json={}), "reason")
    bad = {"reason": "bored"}
    names(await gateway.call("teacher4", "POST", _remove(entry_id), json=bad), "reason")
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    ahead = await gateway.call("teacher4", "POST", path, json=session_at(datetime.now(UTC)))
    assert ahead.status_code == 201, ahead.text
    r = await gateway.call("officer2", "POST", _remove(entry_id), json={"reason": "referred"})
    assert r.status_code == 200, r.text
    # The session still ahead is cancelled: it never turns overdue and alerts its counsellor.
    [cancelled] = (await gateway.get("teacher4", path)).json()
    assert cancelled["status"] == "cancelled"
    runtime = gateway.apps["school_liaison"].state.runtime
    later = datetime.now(UTC) + timedelta(days=30)
    assert await sweep_overdue(runtime, now=later, grace=timedelta(hours=24)) == []
    again = await gateway.call("teacher4", "POST", _remove(entry_id), json=REMOVED)
    assert again.status_code == 409
    r = await gateway.call("teacher4", "POST", path, json=session_at(datetime.now(UTC)))
    assert r.status_code == 409  # no new session for a student off the list
    # Back on the list later: a new entry, and retention is off again.
    back = await _listed(gateway)
    assert back["id"] != entry_id
    pending = await gateway.store("school_liaison").get("pending_erasures", back["child_ref"])
    assert pending is not None
    assert pending["closed_at"] is None


async def test_a_sessions_counsellor_must_be_an_active_counsellor_serving_the_school(
    gateway: Gateway,
) -> None:
    entry_id = (await _listed(gateway))["id"]
    path = f"/v1/counselling/entries/{entry_id}/sessions"
    when = datetime.now(UTC)
    for who, role in (
        ("nobody9", "social_worker"),  # no such account
        ("dispatcher1", "social_worker"),  # not a counsellor
        ("officer7", "police_officer"),  # an officer whose beat is elsewhere
        ("social2", "social_worker"),  # another organisation's social worker
    ):
        body = {**session_at(when, who), "counsellor_role": role}
        names(await gateway.call("teacher4", "POST", path, json=body), "counsellor_id")
    wrong_role = {**session_at(when, "social1"), "counsellor_role": "police_officer"}
    names(await gateway.call("teacher4", "POST", path, json=wrong_role), "counsellor_role")
    assert (await gateway.get("teacher4", path)).json() == []  # nothing half-stored
    officer = {**session_at(when, "officer2"), "counsellor_role": "police_officer"}
    r = await gateway.call("teacher4", "POST", path, json=officer)
    assert r.status_code == 201, r.text
