"""A report that reuses a child's ID number with another name or date of birth still joins the
child's case, and the case goes on the supervisor's desk for identity review; no name leaves
school_liaison. Written out the same name is not a different one."""

from __future__ import annotations

import json
from typing import Any

from services.school_liaison.retention import sweep_retention
from tests.integration.test_privacy_retention import _past_retention, _pending
from tests.support import REPORT, Gateway, eventually

ID_NUMBER = REPORT["student"]["id_number"]
MADE_UP = "Made Up Name"


def from_school_10(category: str = "bullying_perpetrator", **student: Any) -> dict[str, Any]:
    """Another need than REPORT's (bullying_victim): a repeat report of the same need would
    join the child's open tasks rather than start two more (docs/tasks.md)."""
    body = {**REPORT, "school_id": "sch-10", "category": category}
    return {**body, "student": {"id_number": ID_NUMBER, **student}}


async def _file(gateway: Gateway, user: str, body: dict[str, Any], tasks: int) -> Any:
    """File; wait until the report's case has `tasks` tasks; return the filing's answer."""
    r = await gateway.file(user, body)
    assert r.status_code == 201, r.text
    await gateway.tasks_of(r.json()["id"], tasks, reader=user)
    return r


async def _linked(gateway: Gateway, user: str, body: dict[str, Any], tasks: int) -> str:
    """File, wait until the report's case has `tasks` tasks; return the case id."""
    r = await _file(gateway, user, body, tasks)
    report = (await gateway.get(user, f"/v1/reports/{r.json()['id']}")).json()
    return str(report["case_id"])


async def _supervisor_notices(gateway: Gateway) -> list[dict[str, Any]]:
    inbox = (await gateway.get("supervisor1", "/v1/notifications")).json()
    return [n for n in inbox if n["kind"] == "identity_review"]


async def test_another_name_for_the_id_number_joins_and_flags_the_case(
    gateway: Gateway,
) -> None:
    case_id = await _linked(gateway, "teacher1", REPORT, 2)
    flagged = await _file(gateway, "teacher10", from_school_10(name=MADE_UP), 4)
    assert "identity" not in flagged.text  # the filer is not told: no probing ID numbers

    case = (await gateway.get("supervisor1", f"/v1/cases/{case_id}")).json()
    assert case["identity_review"] is True
    entries = [e for e in case["chronology"] if e["kind"] == "identity_review"]
    assert entries[0]["text"] == "identity details differ"
    assert entries[0]["ref"] == flagged.json()["id"]
    assert (await gateway.get("dispatcher1", f"/v1/cases/{case_id}")).json()["identity_review"]

    notices = await eventually(lambda: _supervisor_notices(gateway))
    assert [n["case_id"] for n in notices] == [case_id]
    assert flagged.json()["id"] in notices[0]["title"]
    assert "identity_review" not in (await gateway.get("teacher10", f"/v1/cases/{case_id}")).text
    assert not [
        n
        for n in (await gateway.get("dispatcher1", "/v1/notifications")).json()
        if n["kind"] == "identity_review"
    ]  # the supervisor's desk, not the duty desk

    # No name anywhere outside school_liaison: not in the case, its events, or the inboxes.
    for service, collection in (
        ("case_tracking", "cases"),
        ("case_tracking", "case_chronology"),
        ("notifications", "inbox"),
    ):
        docs = await gateway.store(service).find(collection)
        for name in (MADE_UP, REPORT["student"]["name"]):
            assert name not in json.dumps(docs), (service, name)


async def test_the_same_name_written_differently_does_not_flag(gateway: Gateway) -> None:
    case_id = await _linked(gateway, "teacher1", REPORT, 2)
    await _linked(gateway, "teacher10", from_school_10(name="  li   MING "), 4)
    full_width = from_school_10("self_harm", name="Ｌｉ Ｍｉｎｇ")
    await _linked(gateway, "teacher10", full_width, 6)
    case = (await gateway.get("supervisor1", f"/v1/cases/{case_id}")).json()
    assert len(case["report_ids"]) == 3
    assert case["identity_review"] is False
    assert "identity_review" not in [e["kind"] for e in case["chronology"]]


async def test_another_date_of_birth_flags_and_an_absent_one_does_not(gateway: Gateway) -> None:
    born = {**REPORT, "student": {**REPORT["student"], "date_of_birth": "2010-01-01"}}
    case_id = await _linked(gateway, "teacher1", born, 2)
    same_name = REPORT["student"]["name"]
    await _linked(gateway, "teacher10", from_school_10(name=same_name), 4)
    case = (await gateway.get("supervisor1", f"/v1/cases/{case_id}")).json()
    assert case["identity_review"] is False
    other_birth = from_school_10("self_harm", name=same_name, date_of_birth="2010-02-01")
    await _linked(gateway, "teacher10", other_birth, 6)
    case = (await gateway.get("supervisor1", f"/v1/cases/{case_id}")).json()
    assert case["identity_review"] is True


async def test_after_erasure_the_id_number_starts_afresh_without_a_flag(gateway: Gateway) -> None:
    case_id = await _linked(gateway, "teacher1", REPORT, 2)
    close = await gateway.call(
        "supervisor1", "POST", f"/v1/cases/{case_id}/close", json={"reason": "Family moved"}
    )
    assert close.status_code == 200
    child = close.json()["child_ref"]
    await eventually(lambda: _pending(gateway, child))
    runtime = gateway.apps["school_liaison"].state.runtime
    assert await sweep_retention(runtime, now=_past_retention(gateway)) == [child]

    again = await _linked(gateway, "teacher10", from_school_10(name=MADE_UP), 2)
    assert again != case_id
    case = (await gateway.get("supervisor1", f"/v1/cases/{again}")).json()
    assert case["identity_review"] is False  # nothing sealed is left to differ from
