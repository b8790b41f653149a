"""Every list of the public API pages by keyset: a JSON array, the next page in `Link`.

The convention is shared/paging.py's (the audit trail's own test is in test_audit.py): a client
follows `rel="next"` until it is absent, and reads every entry once, however long the list.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from shared.contracts.cases import CHRONOLOGY_PAGE
from shared.events import stored_time
from shared.store import Cursor
from tests.integration.test_dead_letters import poison_report
from tests.support import REPORT, Gateway, eventually, resident_id


async def walk(gateway: Gateway, user: str, path: str, **params: Any) -> list[list[Any]]:
    """Every page of a list, following the Link header; the pages as read."""
    headers = await gateway.auth(user)
    pages: list[list[Any]] = []
    url: str | None = path
    query: dict[str, Any] | None = params
    while url:
        r = await gateway.client.get(url, params=query, headers=headers)
        assert r.status_code == 200, r.text
        pages.append(r.json())
        url = r.links.get("next", {}).get("url")
        if url:
            assert url.startswith(f"http://gateway{path}?")  # the gateway's own URL
        query = None  # the next link carries every parameter
    return pages


def _list_routes(gateway: Gateway) -> list[tuple[str, dict[str, Any]]]:
    spec = gateway.apps["gateway"].openapi()["paths"]
    found = []
    for path, ops in spec.items():
        get = ops.get("get")
        body = (get or {}).get("responses", {}).get("200", {}).get("content", {})
        if body.get("application/json", {}).get("schema", {}).get("type") == "array":
            found.append((path, get))
    return found


async def test_every_list_route_pages_and_documents_it(gateway: Gateway) -> None:
    """A list without a cursor cannot be read to its end: every array answer has one."""
    routes = _list_routes(gateway)
    assert {p for p, _ in routes} >= {
        "/v1/tasks",
        "/v1/notifications",
        "/v1/schools",
        "/v1/welfare-checks",
        "/v1/audit",
        "/v1/admin/users",
        "/v1/admin/clients",
        "/v1/admin/dead-letters",
        "/v1/ledger",
        "/v1/webhooks/subscriptions",
        "/v1/webhooks/subscriptions/{subscription_id}/deliveries",
    }
    for path, get in routes:
        params = {p["name"] for p in get.get("parameters", [])}
        assert {"after", "limit"} <= params, path
        assert "Link" in get["responses"]["200"].get("headers", {}), path


@pytest.mark.parametrize(
    "path",
    [
        "/v1/tasks",
        "/v1/notifications",
        "/v1/schools",
        "/v1/welfare-checks",
        "/v1/ledger",
        "/v1/admin/users",
        "/v1/admin/clients",
        "/v1/admin/dead-letters",
        "/v1/inspections",
        "/v1/rectifications",
        "/v1/inspection-figures",
        "/v1/inspection-checklist",
        "/v1/video-patrol/days",
        "/v1/venues",
        "/v1/venue-areas",
        "/v1/shifts",
        "/v1/posts",
        "/v1/webhooks/subscriptions",
    ],
)
async def test_a_cursor_we_did_not_make_is_a_422_naming_after(gateway: Gateway, path: str) -> None:
    user = "admin1" if path.startswith("/v1/admin") else "dispatcher1"
    for token in ("not-a-cursor", "W10", "x" * 600):
        r = await gateway.get(user, path, after=token)
        assert r.status_code == 422, (path, token, r.text)
        assert [d["loc"][-1] for d in r.json()["detail"]] == ["after"]


async def test_task_lists_page_through_every_task_once_in_order(gateway: Gateway) -> None:
    reports = []
    for n in range(3):
        body = {**REPORT, "student": {**REPORT["student"], "id_number": resident_id(n)}}
        reports.append((await gateway.file("teacher1", body)).json()["id"])
    for report in reports:
        await gateway.tasks_of(report, 2)
    whole = (await gateway.get("dispatcher1", "/v1/tasks", limit=500)).json()
    assert len(whole) == 6
    pages = await walk(gateway, "dispatcher1", "/v1/tasks", limit=4)
    assert [len(p) for p in pages] == [4, 2]
    assert [t["id"] for p in pages for t in p] == [t["id"] for t in whole]
    officer = await walk(gateway, "officer1", "/v1/tasks", status="open", limit=1)
    assert len(officer) == 3
    assert {t["assignee_user_id"] for p in officer for t in p} == {"officer1"}
    teacher = await walk(gateway, "teacher1", "/v1/tasks", limit=5)
    assert [len(p) for p in teacher] == [5, 1]
    assert all("assignee_user_id" not in t for p in teacher for t in p)  # still feedback


async def test_an_inbox_reads_past_500_entries(gateway: Gateway) -> None:
    """The old `limit` cap had no next page: entries past the 500th could not be read."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    store = gateway.store("notifications")
    async with store.transaction() as tx:
        for n in range(520):
            at = stored_time(start + timedelta(seconds=n // 2))  # pairs share a time
            await tx.put(
                "inbox",
                {"id": f"ntf-bulk-{n:04d}", "recipient": "user:officer1", "kind": "task_assigned",
                 "title": f"entry {n}", "case_id": None, "task_id": None, "due_at": None,
                 "created_at": at, "read_at": None},
            )  # fmt: skip
    pages = await walk(gateway, "officer1", "/v1/notifications", limit=500)
    seen = [n["id"] for p in pages for n in p]
    assert [len(p) for p in pages] == [500, 20]
    assert sorted(seen) == [f"ntf-bulk-{n:04d}" for n in range(520)]  # each once
    newest_first = [(n["created_at"], n["id"]) for p in pages for n in p]
    assert newest_first == sorted(newest_first, reverse=True)


async def test_schools_and_welfare_checks_page(gateway: Gateway) -> None:
    schools = await walk(gateway, "social1", "/v1/schools", limit=3)
    assert [len(p) for p in schools] == [3, 3, 1]
    assert [s["id"] for p in schools for s in p] == [f"sch-{n:02d}" for n in range(1, 8)]
    store = gateway.store("patrol")
    due = datetime(2026, 1, 1, tzinfo=UTC)
    for n in range(5):
        await store.put(
            "welfare_checks",
            {"id": f"wc-{n}", "task_id": f"task-{n}", "case_id": "case-x", "school_id": "sch-01",
             "officer_id": "officer1" if n % 2 else "officer2", "status": "planned",
             "due_at": stored_time(due + timedelta(hours=n)), "created_at": stored_time(due)},
        )  # fmt: skip
    desk = await walk(gateway, "dispatcher1", "/v1/welfare-checks", limit=2)
    assert [[c["id"] for c in p] for p in desk] == [["wc-0", "wc-1"], ["wc-2", "wc-3"], ["wc-4"]]
    mine = await walk(gateway, "officer1", "/v1/welfare-checks", limit=1)
    assert [[c["id"] for c in p] for p in mine] == [["wc-1"], ["wc-3"]]


async def test_admin_lists_page_by_link(gateway: Gateway) -> None:
    users = await walk(gateway, "admin1", "/v1/admin/users", limit=3)
    seen = [u["id"] for p in users for u in p]
    assert all(len(p) == 3 for p in users[:-1])
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) > 3
    assert {"admin1", "teacher1"} <= set(seen)
    for n in range(3):
        client = {"client_id": f"partner{n}", "display_name": "NGO", "role": "social_worker",
                  "org_id": "org-rainbow"}  # fmt: skip
        assert (await gateway.call("admin1", "POST", "/v1/admin/clients", json=client)).is_success
    clients = await walk(gateway, "admin1", "/v1/admin/clients", limit=2)
    assert [[c["id"] for c in p] for p in clients] == [["partner0", "partner1"], ["partner2"]]


async def test_dead_letters_page_newest_first(gateway: Gateway) -> None:
    school = gateway.apps["school_liaison"].state.runtime  # the one identity that may publish it
    for _ in range(3):
        await school.bus.publish(poison_report())

    async def three() -> list[Any]:
        found: list[Any] = (await gateway.get("admin1", "/v1/admin/dead-letters")).json()
        return found if len(found) == 3 else []

    whole = [d["id"] for d in await eventually(three, within=20)]
    pages = await walk(gateway, "admin1", "/v1/admin/dead-letters", limit=2)
    assert [[d["id"] for d in p] for p in pages] == [whole[:2], whole[2:]]
    assert whole == sorted(whole, reverse=True)
    beyond = Cursor(min(whole), str(min(whole))).encode()
    assert (await gateway.get("admin1", "/v1/admin/dead-letters", after=beyond)).json() == []


async def test_a_long_chronology_comes_a_page_at_a_time_and_each_read_is_audited(
    gateway: Gateway,
) -> None:
    """A case's answer carries its chronology's first page and the cursor of the rest; the
    chronology's own list reads the rest once, in order; every page is a read of the case."""
    reports = 36  # each after the first joins the case's tasks: three entries a report
    first = (await gateway.file("teacher1", REPORT)).json()["id"]
    case_id = (await gateway.tasks_of(first, 2))[0]["case_id"]
    for _ in range(reports - 1):
        assert (await gateway.file("teacher1", REPORT)).status_code == 201
    store = gateway.store("case_tracking")
    filed = {"case_id": case_id, "kind": "report_filed"}

    async def all_filed() -> bool:
        count: int = await store.count("case_chronology", where=filed)
        return count == reports

    await eventually(all_filed, within=30)
    rows = await store.find("case_chronology", where={"case_id": case_id}, order_by="seq")
    assert len(rows) > CHRONOLOGY_PAGE
    stored = [{k: r[k] for k in ("at", "kind", "text", "ref")} for r in rows]

    case = (await gateway.get("dispatcher1", f"/v1/cases/{case_id}")).json()
    assert case["chronology"] == stored[:CHRONOLOGY_PAGE]
    assert case["chronology_after"]
    path = f"/v1/cases/{case_id}/chronology"
    pages = await walk(gateway, "dispatcher1", path, after=case["chronology_after"], limit=40)
    assert all(len(p) == 40 for p in pages[:-1])
    assert 1 <= len(pages[-1]) <= 40
    rest = [e for p in pages for e in p]
    assert {e.pop("child_ref") for e in rest} == {case["child_ref"]}
    assert case["chronology"] + rest == stored  # each entry once, in order
    whole = await walk(gateway, "officer1", path, limit=500)
    assert [len(p) for p in whole] == [len(rows)]
    # School staff see the case's feedback only: its chronology is refused, not hidden.
    assert (await gateway.get("teacher1", path)).status_code == 403

    entries = (await gateway.get("auditor1", "/v1/audit", actor="dispatcher1")).json()
    reads = [e for e in entries if e["object_id"] == case_id]
    assert len(reads) == 1 + len(pages)  # the case, then each page of its chronology
    assert {(e["action"], e["object_type"], e["outcome"], e["child_ref"]) for e in reads} == {
        ("read", "case", "allowed", case["child_ref"])
    }
