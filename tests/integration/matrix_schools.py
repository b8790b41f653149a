"""The schools' programme rows of the authorization matrix (test_authorization_matrix.py):
objects in the callers' school (sch-01) and in one none of them serves (sch-10)."""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.identity import Role
from tests.support import Gateway

COUNSEL = (Role.teacher, Role.school_safety_lead, Role.police_officer, Role.social_worker)
COUNSELLOR_OF = {Role.police_officer: "officer1", Role.social_worker: "social1"}
Request = tuple[str, str, dict[str, Any]]


@dataclass
class SchoolsWorld:
    own_entry: str
    other_entry: str
    record: dict[Role, str]  # the session each counsellor role records (its own)
    missed: dict[Role, str]  # a session per role that may say it was missed
    other_session: str
    counter: itertools.count[int]
    fixed: dict[Role, str]  # a rectification notice per school-staff role, to report fixed
    reinspected: str  # the officer's to re-inspect
    other_notice: str
    items: list[str]  # checklist items the matrix added: later inspections answer them too
    to_confirm: dict[Role, str]  # an education event per school-staff role, to confirm
    other_event: str
    to_remove: dict[Role, str]  # an entry per role that keeps the list, to take off it
    to_retire: dict[Role, str]  # a checklist item per role that keeps it (an unused kind's)


async def _entry(gw: Gateway, user: str, school: str, name: str) -> str:
    body = {"school_id": school, "reason": "truancy", "student": {"name": name}}
    r = await gw.call(user, "POST", "/v1/counselling/entries", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def _session(gw: Gateway, user: str, entry: str, counsellor: str) -> str:
    role = "police_officer" if counsellor.startswith("officer") else "social_worker"
    body = {
        "scheduled_at": datetime.now(UTC).isoformat(),
        "counsellor_id": counsellor,
        "counsellor_role": role,
        "place": "Room 1",
    }
    r = await gw.call(user, "POST", f"/v1/counselling/entries/{entry}/sessions", json=body)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


async def build_schools_world(gw: Gateway) -> SchoolsWorld:
    own = await _entry(gw, "teacher1", "sch-01", "Matrix Student")
    other = await _entry(gw, "teacher10", "sch-10", "Other Student")
    record = {
        role: await _session(gw, "teacher1", own, user) for role, user in COUNSELLOR_OF.items()
    }
    missed = {role: await _session(gw, "teacher1", own, "social1") for role in COUNSEL}
    notices = await _inspected(gw, "officer1", "sch-01", ("cctv", "gate_staff", "fire_equipment"))
    [other_notice] = await _inspected(gw, "officer4", "sch-10", ("cctv",))
    return SchoolsWorld(
        fixed={Role.teacher: notices[0], Role.school_safety_lead: notices[1]},
        reinspected=notices[2],
        other_notice=other_notice,
        items=[],
        to_confirm={
            Role.teacher: await _held(gw, "sch-01"),
            Role.school_safety_lead: await _held(gw, "sch-01"),
        },
        other_event=await _held(gw, "sch-10"),
        own_entry=own,
        other_entry=other,
        record=record,
        missed=missed,
        other_session=await _session(gw, "teacher10", other, "social2"),
        counter=itertools.count(1),
        to_retire={role: await _venue_item(gw, role) for role in (Role.supervisor, Role.admin)},
        to_remove={
            role: await _entry(gw, "teacher1", "sch-01", f"Leaving Student {n}")
            for n, role in enumerate(COUNSEL)
        },
    )


async def _inspected(gw: Gateway, officer: str, school: str, failed: tuple[str, ...]) -> list[str]:
    codes = ("one_button_alarm", "gate_staff", "cctv", "fire_equipment")
    body = {"school_id": school, "results": [{"item": c, "passed": c not in failed} for c in codes]}
    r = await gw.call(officer, "POST", "/v1/inspections", json=body)
    assert r.status_code == 201, r.text
    return list(r.json()["notice_ids"])


async def _venue_item(gw: Gateway, role: Role) -> str:
    """An item of a kind the matrix never inspects, so retiring it changes no other cell."""
    code = f"matrix_retire_{role.value}"
    item = {"code": code, "label": "Retired", "deadline_days": 7, "kind": "entertainment"}
    r = await gw.call("supervisor1", "POST", "/v1/inspection-checklist", json=item)
    assert r.status_code == 201, r.text
    return code


def education_event(school: str) -> dict[str, Any]:
    return {
        "school_id": school,
        "term": "2026-spring",
        "topic": "anti_fraud",
        "held_on": "2026-03-02",
        "audience": 80,
        "participants": [{"user_id": "grid1", "role": "grid_worker"}],
    }


async def _held(gw: Gateway, school: str) -> str:
    r = await gw.call("supervisor1", "POST", "/v1/education-events", json=education_event(school))
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


Build = Callable[[SchoolsWorld, Role, bool], Request]


def new_entry(w: SchoolsWorld, _role: Role, own: bool) -> Request:
    body = {
        "school_id": "sch-01" if own else "sch-10",
        "reason": "conflict",
        "student": {"name": f"Listed Student {next(w.counter)}"},
    }
    return "POST", "/v1/counselling/entries", {"json": body}


def entries(_w: SchoolsWorld, _role: Role, own: bool) -> Request:
    school = "sch-01" if own else "sch-10"
    return "GET", "/v1/counselling/entries", {"params": {"school_id": school}}


def sessions(w: SchoolsWorld, _role: Role, own: bool) -> Request:
    return "GET", f"/v1/counselling/entries/{w.own_entry if own else w.other_entry}/sessions", {}


def schedule(w: SchoolsWorld, _role: Role, own: bool) -> Request:
    body = {
        "scheduled_at": "2026-03-02T09:00:00+00:00",
        "counsellor_id": "social1",
        "counsellor_role": "social_worker",
        "place": "Room 2",
    }
    entry = w.own_entry if own else w.other_entry
    return "POST", f"/v1/counselling/entries/{entry}/sessions", {"json": body}


def record(w: SchoolsWorld, role: Role, own: bool) -> Request:
    session = w.record.get(role, w.other_session) if own else w.other_session
    body = {"state": 4, "note": "Settling in"}
    return "POST", f"/v1/counselling/sessions/{session}/record", {"json": body}


def missed(w: SchoolsWorld, role: Role, own: bool) -> Request:
    session = w.missed.get(role, w.other_session) if own else w.other_session
    return "POST", f"/v1/counselling/sessions/{session}/missed", {}


def remove(w: SchoolsWorld, role: Role, own: bool) -> Request:
    entry = w.to_remove.get(role, w.other_entry) if own else w.other_entry
    return "POST", f"/v1/counselling/entries/{entry}/remove", {"json": {"reason": "improved"}}


def new_item(w: SchoolsWorld, role: Role, _own: bool) -> Request:
    code = f"matrix_item_{next(w.counter)}"
    if role in (Role.supervisor, Role.admin):  # the roles whose call adds it
        w.items.append(code)
    item = {"code": code, "label": "Checked", "deadline_days": 7}
    return "POST", "/v1/inspection-checklist", {"json": item}


def retire(w: SchoolsWorld, role: Role, own: bool) -> Request:
    code = w.to_retire.get(role, "matrix_never_added") if own else "matrix_never_added"
    return "POST", f"/v1/inspection-checklist/entertainment/{code}/retire", {}


def new_inspection(w: SchoolsWorld, _role: Role, own: bool) -> Request:
    codes = ("one_button_alarm", "gate_staff", "cctv", "fire_equipment", *w.items)
    body = {
        "school_id": "sch-01" if own else "sch-10",
        "results": [{"item": c, "passed": True} for c in codes],
    }
    return "POST", "/v1/inspections", {"json": body}


def of_school(path: str) -> Build:
    def build(_w: SchoolsWorld, _role: Role, own: bool) -> Request:
        return "GET", path, {"params": {"school_id": "sch-01" if own else "sch-10"}}

    return build


def plain(method: str, path: str) -> Build:
    def build(_w: SchoolsWorld, _role: Role, _own: bool) -> Request:
        return method, path, {}

    return build


def fixed(w: SchoolsWorld, role: Role, own: bool) -> Request:
    notice = w.fixed.get(role, w.other_notice) if own else w.other_notice
    return "POST", f"/v1/rectifications/{notice}/fixed", {"json": {"note": "Done"}}


def reinspect(w: SchoolsWorld, _role: Role, own: bool) -> Request:
    notice = w.reinspected if own else w.other_notice
    return "POST", f"/v1/rectifications/{notice}/reinspect", {"json": {"passed": True}}


def new_event(_w: SchoolsWorld, _role: Role, own: bool) -> Request:
    return "POST", "/v1/education-events", {"json": education_event("sch-01" if own else "sch-10")}


def confirm(w: SchoolsWorld, role: Role, own: bool) -> Request:
    event = w.to_confirm.get(role, w.other_event) if own else w.other_event
    return "POST", f"/v1/education-events/{event}/confirm", {}


def plan(_w: SchoolsWorld, _role: Role, _own: bool) -> Request:
    return "GET", "/v1/education-plan", {"params": {"term": "2026-spring"}}


# (method, path) → (build, success status, status on the other school's object by role)
STATION = {Role.dispatcher, Role.supervisor}


def scoped_404(role: Role) -> int:
    return 200 if role in STATION else 404


def supervisor_anywhere(role: Role) -> int:
    return 201 if role is Role.supervisor else 403  # the station's campaigns: every school


def ok(_role: Role) -> int:
    return 200  # no object of anybody's: the same answer, shaped by the caller's scope


ROWS: dict[tuple[str, str], tuple[Build, int, Callable[[Role], int]]] = {
    ("POST", "/v1/counselling/entries"): (new_entry, 201, lambda r: 403),
    ("GET", "/v1/counselling/entries"): (entries, 200, scoped_404),
    ("GET", "/v1/counselling/entries/{entry_id}/sessions"): (sessions, 200, scoped_404),
    ("POST", "/v1/counselling/entries/{entry_id}/remove"): (remove, 200, lambda r: 404),
    ("POST", "/v1/counselling/entries/{entry_id}/sessions"): (schedule, 201, lambda r: 404),
    ("POST", "/v1/counselling/sessions/{session_id}/record"): (record, 200, lambda r: 404),
    ("POST", "/v1/counselling/sessions/{session_id}/missed"): (missed, 200, lambda r: 404),
    ("GET", "/v1/inspection-checklist"): (plain("GET", "/v1/inspection-checklist"), 200, ok),
    ("POST", "/v1/inspection-checklist"): (new_item, 201, lambda r: 201),
    ("POST", "/v1/inspection-checklist/{kind}/{code}/retire"): (retire, 200, lambda r: 404),
    ("POST", "/v1/inspections"): (new_inspection, 201, lambda r: 403),
    ("GET", "/v1/inspections"): (of_school("/v1/inspections"), 200, scoped_404),
    ("GET", "/v1/rectifications"): (of_school("/v1/rectifications"), 200, scoped_404),
    ("POST", "/v1/rectifications/{notice_id}/fixed"): (fixed, 200, lambda r: 404),
    ("POST", "/v1/rectifications/{notice_id}/reinspect"): (reinspect, 200, lambda r: 404),
    ("GET", "/v1/inspection-figures"): (plain("GET", "/v1/inspection-figures"), 200, ok),
    ("POST", "/v1/education-events"): (new_event, 201, supervisor_anywhere),
    ("GET", "/v1/education-events"): (of_school("/v1/education-events"), 200, scoped_404),
    ("POST", "/v1/education-events/{event_id}/confirm"): (confirm, 200, lambda r: 404),
    ("GET", "/v1/education-plan"): (plan, 200, ok),
}
