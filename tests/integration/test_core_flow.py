"""The core flow in one process: gateway and the four services as ASGI apps, real NATS, SQLite.

Faster to debug than the end-to-end suite, and it can look inside: stores and one trace.
"""

from __future__ import annotations

import asyncio
from typing import Any

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from shared.bus import Bus
from tests.support import REPORT, Gateway, eventually, every_store

__all__ = ["every_store"]  # every test here runs on SQLite and on PostgreSQL


async def test_a_report_becomes_a_case_two_tasks_and_notifications(gateway: Gateway) -> None:
    r = await gateway.file("teacher1", REPORT)
    assert r.status_code == 201, r.text
    report = r.json()
    assert report["severity"] == "high"
    assert report["case_id"] is None

    tasks = await gateway.tasks_of(report["id"], 2)
    assert {(t["agency"], t["assignee_user_id"], t["assignee_org_id"]) for t in tasks} == {
        ("police", "officer1", None),
        ("social_work", None, "org-rainbow"),
    }
    police = next(t for t in tasks if t["agency"] == "police")

    async def inbox(user: str) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = (await gateway.get(user, "/v1/notifications")).json()
        return entries

    assert {n["task_id"] for n in await eventually(lambda: inbox("officer1"))} == {police["id"]}

    async def desk_has_both() -> list[dict[str, Any]]:
        items = await inbox("dispatcher1")
        return items if len(items) >= 2 else []

    desk = await eventually(desk_has_both)
    assert {n["task_id"] for n in desk} == {t["id"] for t in tasks}
    assert len(await eventually(lambda: inbox("social1"))) == 1
    assert await inbox("social2") == []

    ack = await gateway.client.post(
        f"/v1/tasks/{police['id']}/ack", headers=await gateway.auth("officer1")
    )
    assert ack.status_code == 200
    assert ack.json()["status"] == "acknowledged"
    case = (await gateway.get("officer1", f"/v1/cases/{police['case_id']}")).json()
    assert [e["kind"] for e in case["chronology"]] == [
        "report_filed",
        "task_created",
        "task_created",
        "task_acknowledged",
    ]


async def test_one_trace_follows_a_report_through_every_service(
    gateway: Gateway, spans: InMemorySpanExporter
) -> None:
    r = await gateway.file("teacher1", REPORT)
    await gateway.tasks_of(r.json()["id"], 2)
    await eventually(lambda: gateway.get("dispatcher1", "/v1/notifications"))

    post = next(s for s in spans.get_finished_spans() if s.name == "POST /v1/reports")
    trace_id = post.context.trace_id

    def names_in_trace() -> set[str]:
        return {s.name for s in spans.get_finished_spans() if s.context.trace_id == trace_id}

    async def complete() -> set[str]:
        names = names_in_trace()
        wanted = {
            "POST /v1/reports",  # gateway
            "POST /reports",  # school_liaison
            "consume school.report.filed.v1",  # case_tracking
            "consume task.created.v1",  # notifications and patrol
        }
        return names if wanted <= names else set()

    assert await eventually(complete)


async def test_spans_are_named_by_route_template_and_continue_into_the_service(
    gateway: Gateway, spans: InMemorySpanExporter
) -> None:
    r = await gateway.file("teacher1", REPORT)
    case_id = (await gateway.tasks_of(r.json()["id"], 2))[0]["case_id"]
    spans.clear()
    assert (await gateway.get("officer1", f"/v1/cases/{case_id}")).status_code == 200

    finished = spans.get_finished_spans()
    assert not [s.name for s in finished if case_id in s.name]  # no id in any span name
    # In one process the service's span is INTERNAL (a span is already current); SERVER apart.
    named = {s.name: s for s in finished}
    edge, inner = named["GET /v1/cases/{case_id}"], named["GET /cases/{case_id}"]
    assert edge.kind == SpanKind.SERVER
    assert edge.attributes is not None
    assert edge.attributes["http.route"] == "/v1/cases/{case_id}"
    # The service's span is the child of the gateway's httpx client span, in the same trace.
    client = next(s for s in finished if s.kind == SpanKind.CLIENT)
    assert inner.context.trace_id == edge.context.trace_id
    assert inner.parent is not None
    assert inner.parent.span_id == client.context.span_id


async def test_the_same_idempotency_key_gives_one_report_one_case_two_tasks(
    gateway: Gateway,
) -> None:
    answers = await asyncio.gather(*(gateway.file("teacher1", REPORT, key="k-1") for _ in range(5)))
    assert {a.status_code for a in answers} == {201}
    assert len({a.json()["id"] for a in answers}) == 1
    report_id = answers[0].json()["id"]
    await gateway.tasks_of(report_id, 2)

    assert len(await gateway.store("school_liaison").find("reports")) == 1
    assert len(await gateway.store("case_tracking").find("cases")) == 1
    assert len(await gateway.store("case_tracking").find("tasks")) == 2

    changed = await gateway.file("teacher1", {**REPORT, "description": "other"}, key="k-1")
    assert changed.status_code == 409


async def test_one_child_has_one_case_however_many_reports(gateway: Gateway) -> None:
    first = (await gateway.file("teacher1", REPORT)).json()
    second_body = {**REPORT, "category": "self_harm", "description": "Talks of ending it"}
    second = (await gateway.file("teacher1", second_body)).json()
    assert first["child_ref"] == second["child_ref"]
    await gateway.tasks_of(second["id"], 4)
    cases = await gateway.store("case_tracking").find("cases")
    assert len(cases) == 1
    assert cases[0]["risk_level"] == "critical"
    assert sorted(cases[0]["report_ids"]) == sorted([first["id"], second["id"]])


async def test_the_child_is_named_in_no_event_and_no_other_store(
    gateway: Gateway, admin_bus: Bus
) -> None:
    r = await gateway.file("teacher1", REPORT)
    await gateway.tasks_of(r.json()["id"], 2)
    name, id_number = REPORT["student"]["name"], REPORT["student"]["id_number"]
    school_rows = await gateway.store("school_liaison").find("reports")
    assert name not in str(school_rows)
    assert id_number not in str(school_rows)
    for service in ("case_tracking", "notifications", "patrol"):
        for collection in (
            "cases",
            "case_chronology",
            "tasks",
            "inbox",
            "welfare_checks",
            "processed_events",
        ):
            rows = str(await gateway.store(service).find(collection))
            assert name not in rows
            assert id_number not in rows
    for stream in ("SCHOOL", "CASES"):
        info = await admin_bus.js.stream_info(stream)
        for seq in range(info.state.first_seq, info.state.last_seq + 1):
            data = (await admin_bus.js.get_msg(stream, seq)).data or b""
            assert name.encode() not in data
            assert id_number.encode() not in data
