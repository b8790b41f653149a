"""The authorization matrix, generated from the gateway's route table.

Every public endpoint × every role × the caller's own object and somebody else's, with the
expected status in each cell. A new endpoint without an entry here fails the test.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from gateway.access import ROLES_KEY
from gateway.audit import AuditLog
from shared.contracts.cases import CaseFeedbackView, CaseView, TaskFeedbackView, TaskView
from shared.identity import Role
from tests.integration.matrix_patrol import ROWS as PATROL_ROWS
from tests.integration.matrix_patrol import PatrolWorld, build_patrol_world
from tests.integration.matrix_schools import ROWS, SchoolsWorld, build_schools_world
from tests.integration.matrix_webhooks import ROWS as WEBHOOK_ROWS
from tests.integration.matrix_webhooks import WebhooksWorld, build_webhooks_world
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
    # For each later move, a (police, social) pair of tasks in the state the move starts from.
    pairs: dict[str, tuple[str, str]]
    schools: SchoolsWorld  # the schools' programme (matrix_schools.py)
    patrol: PatrolWorld  # video patrol and venues (matrix_patrol.py)
    webhooks: WebhooksWorld  # partner webhooks (matrix_webhooks.py)


Request = tuple[str, str, dict[str, Any]]  # method, path, keyword arguments for the call
Build = Callable[[World, Role, bool], Request]


@dataclass(frozen=True)
class Cell:
    build: Build
    ok: int  # success status for an allowed role on its own object
    other: Callable[[Role], int] | None = None  # status on somebody else's object


def scoped_404(role: Role) -> int:
    return 200 if role in STATION else 404


def closed_or_404(role: Role) -> int:
    """The other case, closed by the supervisor's row of the close cell above: the desk may
    see it but not keep a ledger on it any more."""
    return 409 if role in STATION else 404


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


def new_school(w: World) -> dict[str, str]:
    return {
        "id": next_name(w, "mx-school-"),
        "name": "Matrix School",
        "district": "Xijie station district",
        "community_officer_id": "officer1",
        "social_org_id": "org-rainbow",
    }


def report_body(w: World, _role: Role, own: bool) -> Request:
    school = "sch-01" if own else "sch-10"
    body = {**REPORT, "school_id": school, "student": {"name": next_name(w, "Matrix ")}}
    return "POST", "/v1/reports", {"json": body}


def notice(w: World, role: Role, own: bool) -> Request:
    notice_id = w.notices.get(USER_OF[role]) if own else None
    return "POST", f"/v1/notifications/{notice_id or 'ntf-none'}/read", {}


def ack(w: World, role: Role, own: bool) -> Request:
    mine = w.social_task if role is Role.social_worker else w.police_task
    return "POST", f"/v1/tasks/{mine if own else w.other_police_task}/ack", {}


def move(name: str, body: dict[str, Any] | None = None) -> Build:
    """An assignee's move on a task of theirs in the state it needs (police or social), or on
    another school's police task."""

    def build(w: World, role: Role, own: bool) -> Request:
        police, social = w.pairs[name]
        task = (social if role is Role.social_worker else police) if own else w.other_police_task
        return "POST", f"/v1/tasks/{task}/{name}", {"json": body} if body else {}

    return build


def desk_move(name: str, police_body: dict[str, Any], social_body: dict[str, Any]) -> Build:
    """A desk move: the dispatcher on the police task, the supervisor on the social one (a
    cancelled task cannot be cancelled again); the other object is a task that does not exist
    (the desk sees every task)."""

    def build(w: World, role: Role, own: bool) -> Request:
        police, social = w.pairs[name]
        task = (social if role is Role.supervisor else police) if own else "task-nobodys"
        body = social_body if role is Role.supervisor else police_body
        return "POST", f"/v1/tasks/{task}/{name}", {"json": body}

    return build


def read_task(w: World, role: Role, own: bool) -> Request:
    mine = w.social_task if role is Role.social_worker else w.police_task
    return "GET", f"/v1/tasks/{mine if own else w.other_police_task}", {}


REASON = {"reason": "needs a female officer; handed back"}
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
    # School staff get the case's feedback, not its chronology: 403 by role.
    ("GET", "/v1/cases/{case_id}/chronology"): Cell(
        lambda w, r, o: ("GET", f"/v1/cases/{w.own_case if o else w.other_case}/chronology", {}),
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
    ("GET", "/v1/tasks/{task_id}"): Cell(read_task, 200, scoped_404),
    ("POST", "/v1/tasks/{task_id}/start"): Cell(move("start"), 200, lambda r: 404),
    ("POST", "/v1/tasks/{task_id}/done"): Cell(
        move("done", {"outcome": "Visited; the family agreed to counselling"}), 200, lambda r: 404
    ),
    ("POST", "/v1/tasks/{task_id}/decline"): Cell(move("decline", REASON), 200, lambda r: 404),
    ("POST", "/v1/tasks/{task_id}/cancel"): Cell(
        desk_move("cancel", REASON, REASON), 200, lambda r: 404
    ),
    ("POST", "/v1/tasks/{task_id}/reassign"): Cell(
        desk_move("reassign", {"assignee_user_id": "officer1"}, {"assignee_org_id": "org-harbour"}),
        200,
        lambda r: 404,
    ),
    ("GET", "/v1/tasks/{task_id}/assignees"): Cell(
        lambda w, r, o: (
            "GET",
            f"/v1/tasks/{w.police_task if o else 'task-nobodys'}/assignees",
            {},
        ),
        200,
        lambda r: 404,
    ),
    ("POST", "/v1/cases/{case_id}/monitoring"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/cases/{w.own_case if o else w.other_case}/monitoring",
            {"json": {"responsible_user_id": "officer1", "interval_days": 14}},
        ),
        200,
        closed_or_404,
    ),
    ("POST", "/v1/cases/{case_id}/follow-ups"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/cases/{w.own_case if o else w.other_case}/follow-ups",
            {"json": {"contact_type": "phone", "outcome": "Spoke with his mother; calmer"}},
        ),
        200,
        closed_or_404,
    ),
    ("GET", "/v1/ledger"): Cell(lambda w, r, o: ("GET", "/v1/ledger", {}), 200),
    ("POST", "/v1/cases/{case_id}/dispositions"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/cases/{w.own_case if o else w.other_case}/dispositions",
            {"json": {"kind": "education_with_school", "note": "Talk held with his parents"}},
        ),
        201,
        lambda r: 201 if r in STATION else 404,  # closed cases take dispositions too
    ),
    ("GET", "/v1/dispositions/counts"): Cell(
        lambda w, r, o: ("GET", "/v1/dispositions/counts", {}), 200
    ),
    ("POST", "/v1/cases/{case_id}/risk"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/cases/{w.own_case if o else w.other_case}/risk",
            {"json": {"risk_level": "critical", "reason": "Threats got worse this week"}},
        ),
        200,
        closed_or_404,
    ),
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
    ("POST", "/v1/schools"): Cell(
        lambda w, r, o: ("POST", "/v1/schools", {"json": new_school(w)}), 201
    ),
    ("POST", "/v1/schools:batch"): Cell(
        lambda w, r, o: ("POST", "/v1/schools:batch", {"json": [new_school(w), new_school(w)]}),
        201,
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
    ("GET", "/v1/admin/streams"): Cell(lambda w, r, o: ("GET", "/v1/admin/streams", {}), 200),
    ("POST", "/v1/admin/dead-letters/{dead_letter_id}/replay"): Cell(
        lambda w, r, o: (
            "POST",
            f"/v1/admin/dead-letters/{w.dead_letter if o else 999999}/replay",
            {},
        ),
        202,
        lambda r: 404,
    ),
    # A replay from the start that ends after it (a live stream would never answer in-process).
    ("GET", "/v1/stream"): Cell(
        lambda w, r, o: (
            "GET",
            "/v1/stream",
            {"params": {"after": "0-0-0-0", "replay_only": True}},
        ),
        200,
    ),
    ("POST", "/v1/stream/tickets"): Cell(lambda w, r, o: ("POST", "/v1/stream/tickets", {}), 201),
    ("GET", "/v1/audit"): Cell(lambda w, r, o: ("GET", "/v1/audit", {}), 200),
    ("GET", "/v1/audit/verify"): Cell(lambda w, r, o: ("GET", "/v1/audit/verify", {}), 200),
}


def _on_schools(build: Callable[[SchoolsWorld, Role, bool], Request]) -> Build:
    def on_world(w: World, role: Role, own: bool) -> Request:
        return build(w.schools, role, own)

    return on_world


CELLS |= {key: Cell(_on_schools(build), ok, other) for key, (build, ok, other) in ROWS.items()}


def _on_patrol(build: Callable[[PatrolWorld, Role, bool], Request]) -> Build:
    def on_world(w: World, role: Role, own: bool) -> Request:
        return build(w.patrol, role, own)

    return on_world


CELLS |= {
    key: Cell(_on_patrol(build), ok, other) for key, (build, ok, other) in PATROL_ROWS.items()
}


def _on_webhooks(build: Callable[[WebhooksWorld, Role, bool], Request]) -> Build:
    def on_world(w: World, role: Role, own: bool) -> Request:
        return build(w.webhooks, role, own)

    return on_world


CELLS |= {
    key: Cell(_on_webhooks(build), ok, other) for key, (build, ok, other) in WEBHOOK_ROWS.items()
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
    partner = new_client("partner")
    assert (await gw.call("admin1", "POST", "/v1/admin/clients", json=partner)).is_success
    own = (await gw.file("teacher1", REPORT)).json()["id"]
    other_body = {**REPORT, "school_id": "sch-10", "student": {"name": "Other Child"}}
    other = (await gw.file("teacher10", other_body)).json()["id"]
    own_tasks = await gw.tasks_of(own, 2)
    others = await gw.tasks_of(other, 2, reader="teacher10")
    closable_body = {**REPORT, "student": {"name": "Closable Child"}}
    closable_report = (await gw.file("teacher1", closable_body)).json()["id"]
    closable = (await gw.tasks_of(closable_report, 2))[0]["case_id"]
    school = gw.apps["school_liaison"].state.runtime  # the identity that may publish it
    await school.bus.publish(poison_report())

    async def letter() -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = (await gw.get("admin1", "/v1/admin/dead-letters")).json()
        return found

    dead = (await eventually(letter))[0]["id"]
    pairs = {name: await _pair(gw, name) for name in ("start", "done", "decline", "cancel")}
    pairs["reassign"] = await _pair(gw, "reassign")
    monitored = {"responsible_user_id": "officer1", "interval_days": 14}
    own_case = own_tasks[0]["case_id"]
    r = await gw.call("dispatcher1", "POST", f"/v1/cases/{own_case}/monitoring", json=monitored)
    assert r.status_code == 200, r.text
    notices: dict[str, str] = {}
    for user in ("officer1", "social1", "dispatcher1"):
        inbox = await eventually(functools.partial(_inbox, gw, user))
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
        pairs=pairs,
        schools=await build_schools_world(gw),
        patrol=await build_patrol_world(gw),
        webhooks=await build_webhooks_world(gw),
    )


async def _pair(gw: Gateway, name: str) -> tuple[str, str]:
    """A new child's police and social task, moved by their assignees to where `name` starts:
    acknowledged for start, in progress for done, open otherwise. The social task of
    "reassign" goes to another organisation, so its police task is there for the officer."""
    body = {**REPORT, "student": {"name": f"Pair {name}"}}
    tasks = await gw.tasks_of((await gw.file("teacher1", body)).json()["id"], 2)
    police = next(t["id"] for t in tasks if t["agency"] == "police")
    social = next(t["id"] for t in tasks if t["agency"] == "social_work")
    steps = {"start": ["ack"], "done": ["ack", "start"]}.get(name, [])
    for step in steps:
        for user, task in (("officer1", police), ("social1", social)):
            r = await gw.call(user, "POST", f"/v1/tasks/{task}/{step}")
            assert r.status_code == 200, r.text
    return police, social


async def _inbox(gw: Gateway, user: str) -> list[dict[str, Any]]:
    entries: list[dict[str, Any]] = (await gw.get(user, "/v1/notifications")).json()
    return entries


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


# --- one child, two schools --------------------------------------------------------------------
# A teacher of school 10 files a report with a school-1 child's ID number: it joins that child's
# case. Before it, the case is nobody's at school 10; after it, the teacher sees feedback on her
# own report only, while school 10's officer and social worker see the case (their job).


@dataclass(frozen=True)
class CrossRow:
    user: str  # of school 10: its teacher, its community officer, its social-work org
    before: int  # GET /v1/cases/{id} and GET /v1/tasks?case_id= before school 10's report
    after: type[BaseModel]  # the view each answers with after it


CROSS_ROWS = (
    CrossRow("teacher10", 404, CaseFeedbackView),
    CrossRow("officer4", 404, CaseView),  # sch-10 is in his beat
    CrossRow("social2", 404, CaseView),  # org-sunflower serves sch-10
)
CROSS_BODY = {
    **REPORT,
    "school_id": "sch-10",
    "category": "truancy",
    "student": {**REPORT["student"], "name": "Made Up Name"},
}


async def _case_reads(gw: Gateway, user: str, case_id: str) -> tuple[Any, Any]:
    case = await gw.get(user, f"/v1/cases/{case_id}")
    tasks = await gw.get(user, "/v1/tasks", case_id=case_id)
    return case, tasks


async def test_a_linked_report_from_another_school_opens_only_what_each_role_needs(
    gateway: Gateway,
) -> None:
    own = (await gateway.file("teacher1", REPORT)).json()["id"]
    own_tasks = await gateway.tasks_of(own, 2)
    case_id = own_tasks[0]["case_id"]
    for row in CROSS_ROWS:
        case, tasks = await _case_reads(gateway, row.user, case_id)
        assert (case.status_code, tasks.status_code) == (row.before, row.before), row.user

    linked = (await gateway.file("teacher10", CROSS_BODY)).json()["id"]
    every_task = await gateway.tasks_of(linked, 4, reader="teacher10")
    assert {t["case_id"] for t in every_task} == {case_id}  # the ID number decided: one case
    theirs = {t["id"] for t in every_task if t["report_id"] == linked}
    foreign = [own, *(t["id"] for t in own_tasks), "bullying_victim", "sch-01"]

    for row in CROSS_ROWS:
        case, tasks = await _case_reads(gateway, row.user, case_id)
        assert (case.status_code, tasks.status_code) == (200, 200), row.user
        assert set(case.json()) == set(row.after.model_fields), row.user
        if row.after is CaseFeedbackView:
            assert case.json()["report_ids"] == [linked]
            assert {t["id"] for t in case.json()["tasks"]} == theirs
            assert {t["id"] for t in tasks.json()} == theirs
            assert all(set(t) == set(TaskFeedbackView.model_fields) for t in tasks.json())
            for word in foreign:
                assert word not in case.text, (row.user, word)
                assert word not in tasks.text, (row.user, word)
        else:
            assert set(case.json()["report_ids"]) == {own, linked}
            assert set(case.json()["school_ids"]) == {"sch-01", "sch-10"}
            assert {t["id"] for t in tasks.json()} == {t["id"] for t in every_task}
            assert all(set(t) == set(TaskView.model_fields) for t in tasks.json())

    # Her own task list (no case_id) is feedback too; school 1's teacher sees nothing of hers.
    mine = (await gateway.get("teacher10", "/v1/tasks")).json()
    assert {t["id"] for t in mine} == theirs
    assert "assignee_user_id" not in mine[0]
    first_school = (await gateway.get("teacher1", f"/v1/cases/{case_id}")).json()
    assert first_school["report_ids"] == [own]
    assert linked not in str(first_school)

    # Each of those reads is audited against the child, as every read of a case is.
    log: AuditLog = gateway.apps["gateway"].state.audit
    child = (await gateway.get("teacher1", f"/v1/reports/{own}")).json()["child_ref"]
    for row in CROSS_ROWS:
        entries, _ = await log.page(actor=row.user, limit=100)
        reads = {(e.object_type, e.outcome) for e in entries if e.child_ref == child}
        assert {("case", "allowed"), ("task", "allowed")} <= reads, row.user
        assert ("case", "not_found") in {(e.object_type, e.outcome) for e in entries}, row.user
