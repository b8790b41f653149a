"""The authorization matrix, generated from the gateway's route table.

Every public endpoint × every role × the caller's own object and somebody else's, with the
expected status in each cell. A new endpoint without an entry here fails the test.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gateway.access import ROLES_KEY
from shared.identity import Role
from tests.integration.test_dead_letters import poison_report
from tests.support import REPORT, USER_OF, Gateway, eventually

STATION = {Role.dispatcher, Role.supervisor}
SCOPED = {Role.teacher, Role.school_safety_lead, Role.police_officer, Role.social_worker}


@dataclass
class World:
    """Objects in the caller's scope (school 1) and outside it (school 10)."""

    own_report: str
    other_report: str
    own_case: str
    other_case: str
    police_task: str
    social_task: str
    other_police_task: str
    notices: dict[str, str]  # user → a notification id in that user's inbox
    dead_letter: int
    closable_case: str
    counter: itertools.count[int]


Request = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments for the call
Build = Callable[[World, Role, bool], Request]


@dataclass(frozen=True)
class Cell:
    build: Build
    ok: int  # success status for an allowed role on its own object
    other: Callable[[Role], int] | None = None  # status on somebody else's object


def scoped_404(role: Role) -> int:
    return 200 if role in STATION else 404


def next_name(w: World, prefix: str) -> str:
    return f"{prefix}{next(w.counter)}"


PASSWORD = "long-enough-secret"


def new_user(username: str, school_id: str) -> dict[str, str]:
    return {
        "username": username,
        "password": PASSWORD,
        "display_name": username,
        "role": "teacher",
        "school_id": school_id,
    }


def new_client(client_id: str) -> dict[str, str]:
    return {
        "client_id": client_id,
        "display_name": "NGO case system",
        "role": "social_worker",
        "org_id": "org-rainbow",
    }


def report_body(w: World, role: Role, own: bool) -> Request:
    school = "sch-01" if own else "sch-10"
    body = {**REPORT, "school_id": school, "student": {"name": next_name(w, "Matrix ")}}
    return "POST", "/v1/reports", {"json": body}


def notice(w: World, role: Role, own: bool) -> Request:
    notice_id = w.notices.get(USER_OF[role]) if own else None
    return "POST", f"/v1/notifications/{notice_id or 'ntf-none'}/read", {}


def ack(w: World, role: Role, own: bool) -> Request:
    mine = w.social_task if role is Role.social_worker else w.police_task
    return "POST", f"/v1/tasks/{mine if own else w.other_police_task}/ack", {}


CELLS: dict[tuple[str, str], Cell] = {
    ("GET", "/v1/me"): Cell(lambda w, r, o: ("GET", "/v1/me", {}), 200),
    ("GET", "/v1/schools"): Cell(lambda w, r, o: ("GET", "/v1/schools", {}), 200),
    ("POST", "/v1/reports"): Cell(report_body, 201, lambda r: 403),
    ("GET", "/v1/reports/{report_id}"): Cell(
        lambda w, r, o: ("GET", f"/v1/reports/{w.own_report if o else w.other_report}", {}),
        200,
        scoped_404,
    ),
    ("GET", "/v1/cases/{case_id}"): Cell(
        lambda w, r, o: ("GET", f"/v1/cases/{w.own_case if o else w.other_case}", {}),
        200,
        scoped_404,
    ),
    ("POST", "/v1/cases/{case_id}/close"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/cases/{w.closable_case if o else w.other_case}/close",
            {"json": {"reason": "family moved away; support handed over"}},
        ),
        200,
        scoped_404,
    ),
    ("GET", "/v1/tasks"): Cell(
        lambda w, r, o: (
            "GET",
            "/v1/tasks",
            {"params": {"case_id": w.own_case if o else w.other_case}},
        ),
        200,
        scoped_404,
    ),
    ("POST", "/v1/tasks/{task_id}/ack"): Cell(ack, 200, lambda r: 404),
    ("GET", "/v1/notifications"): Cell(lambda w, r, o: ("GET", "/v1/notifications", {}), 200),
    ("POST", "/v1/notifications/{notification_id}/read"): Cell(notice, 200, lambda r: 404),
    ("GET", "/v1/welfare-checks"): Cell(lambda w, r, o: ("GET", "/v1/welfare-checks", {}), 200),
    ("GET", "/v1/admin/users"): Cell(lambda w, r, o: ("GET", "/v1/admin/users", {}), 200),
    ("POST", "/v1/admin/users"): Cell(
        lambda w, r, o: (
            "POST",
            "/v1/admin/users",
            {"json": new_user(next_name(w, "user"), "sch-05")},
        ),
        201,
    ),
    ("PATCH", "/v1/admin/users/{username}"): Cell(
        lambda w, r, o: (
            "PATCH",
            f"/v1/admin/users/{'teacher2' if o else 'nobody'}",
            {"json": {"display_name": "Renamed"}},
        ),
        200,
        lambda r: 404,
    ),
    ("GET", "/v1/admin/clients"): Cell(lambda w, r, o: ("GET", "/v1/admin/clients", {}), 200),
    ("POST", "/v1/admin/clients"): Cell(
        lambda w, r, o: (
            "POST",
            "/v1/admin/clients",
            {"json": new_client(next_name(w, "client"))},
        ),
        201,
    ),
    ("DELETE", "/v1/admin/clients/{client_id}"): Cell(
        lambda w, r, o: ("DELETE", f"/v1/admin/clients/{'partner' if o else 'nobody'}", {}),
        204,
        lambda r: 404,
    ),
    ("POST", "/v1/admin/clients/{client_id}/secret"): Cell(
        lambda w, r, o: ("POST", f"/v1/admin/clients/{'partner' if o else 'nobody'}/secret", {}),
        200,
        lambda r: 404,
    ),
    ("GET", "/v1/admin/dead-letters"): Cell(
        lambda w, r, o: ("GET", "/v1/admin/dead-letters", {}), 200
    ),
    ("POST", "/v1/admin/dead-letters/{dead_letter_id}/replay"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/admin/dead-letters/{w.dead_letter if o else 999999}/replay",
            {},
        ),
        202,
        lambda r: 404,
    ),
    ("GET", "/v1/audit"): Cell(lambda w, r, o: ("GET", "/v1/audit", {}), 200),
    ("GET", "/v1/audit/verify"): Cell(lambda w, r, o: ("GET", "/v1/audit/verify", {}), 200),
}
PUBLIC = {("POST", "/v1/auth/token")}


def route_table(gateway: Gateway) -> dict[tuple[str, str], list[str] | None]:
    """(method, path) → declared roles, read from the gateway's own OpenAPI document."""
    doc = gateway.apps["gateway"].openapi()
    return {
        (method.upper(), path): operation.get(ROLES_KEY)
        for path, item in doc["paths"].items()
        for method, operation in item.items()
        if path.startswith("/v1")
    }


async def build_world(gw: Gateway) -> World:
    """A report in school 1 (the callers' own) and one in school 10 (nobody's here), their
    cases and tasks, a notice in each task worker's inbox, a partner client, a dead letter."""
    teacher10 = new_user("teacher10", "sch-10")
    assert (await gw.call("admin1", "POST", "/v1/admin/users", json=teacher10)).is_success
    partner = new_client("partner")
    assert (await gw.call("admin1", "POST", "/v1/admin/clients", json=partner)).is_success
    await gw.auth("teacher10", PASSWORD)
    own = (await gw.file("teacher1", REPORT)).json()["id"]
    other_body = {**REPORT, "school_id": "sch-10", "student": {"name": "Other Child"}}
    other = (await gw.file("teacher10", other_body)).json()["id"]
    own_tasks = await gw.tasks_of(own, 2)
    others = await gw.tasks_of(other, 2, reader="teacher10")
    closable_body = {**REPORT, "student": {"name": "Closable Child"}}
    closable_report = (await gw.file("teacher1", closable_body)).json()["id"]
    closable = (await gw.tasks_of(closable_report, 2))[0]["case_id"]
    runtime = gw.apps["case_tracking"].state.runtime
    await runtime.bus.publish(poison_report())

    async def letter() -> list[dict[str, Any]]:
        return (await gw.get("admin1", "/v1/admin/dead-letters")).json()

    dead = (await eventually(letter))[0]["id"]
    notices: dict[str, str] = {}
    for user in ("officer1", "social1", "dispatcher1"):
        inbox = await eventually(lambda u=user: _inbox(gw, u))
        notices[user] = inbox[0]["id"]
    return World(
        own_report=own,
        other_report=other,
        own_case=own_tasks[0]["case_id"],
        other_case=others[0]["case_id"],
        police_task=next(t["id"] for t in own_tasks if t["agency"] == "police"),
        social_task=next(t["id"] for t in own_tasks if t["agency"] == "social_work"),
        other_police_task=next(t["id"] for t in others if t["agency"] == "police"),
        notices=notices,
        dead_letter=dead,
        closable_case=closable,
        counter=itertools.count(1),
    )


async def _inbox(gw: Gateway, user: str) -> list[dict[str, Any]]:
    return (await gw.get(user, "/v1/notifications")).json()


def expected(cell: Cell, allowed: list[str] | None, role: Role, own: bool) -> int:
    if allowed is None or role.value not in allowed:
        return 403
    if role is Role.teacher and cell.ok == 200 and own and cell.build is notice:
        return 404  # teachers are told nothing in this flow: no notice of theirs exists
    if cell.build is notice and USER_OF[role] not in ("officer1", "social1", "dispatcher1"):
        return 404
    if own or cell.other is None:
        return cell.ok
    return cell.other(role)


async def test_every_cell_of_the_matrix(gateway: Gateway) -> None:
    table = route_table(gateway)
    assert set(table) - PUBLIC == set(CELLS), "every endpoint needs a row in CELLS"
    assert all(table[key] is not None for key in CELLS), "every endpoint declares its roles"
    world = await build_world(gateway)
    wrong: list[str] = []
    too_open: list[str] = []
    for (key, cell), role, own in itertools.product(CELLS.items(), Role, (True, False)):
        method, path, kwargs = cell.build(world, role, own)
        r = await gateway.call(USER_OF[role], method, path, **kwargs)
        want = expected(cell, table[key], role, own)
        if r.status_code != want:
            where = f"{key[0]} {key[1]} as {role.value} ({'own' if own else 'other'})"
            wrong.append(f"{where}: got {r.status_code}, expected {want}")
            if r.status_code < 400 <= want:
                too_open.append(where)
    assert too_open == [], too_open  # 0 cells that allow what they should deny
    assert wrong == [], "\n".join(wrong)
