"""/metrics on every process: request, event, lag and task figures, and never an id."""

from __future__ import annotations

import httpx

from tests.support import REPORT, Gateway, eventually, sample


async def scrape(gateway: Gateway, service: str) -> str:
    if service == "gateway":
        return (await gateway.client.get("/metrics")).text
    transport = httpx.ASGITransport(app=gateway.apps[service])
    async with httpx.AsyncClient(transport=transport, base_url="http://svc") as client:
        return (await client.get("/metrics")).text


async def test_every_process_reports_its_work_without_ids(gateway: Gateway) -> None:
    report = (await gateway.file("teacher1", REPORT)).json()
    await gateway.tasks_of(report["id"], 2)

    async def case_figures() -> str:
        text = await scrape(gateway, "case_tracking")
        consumed = sample(
            text,
            "hulei_events_consumed_total",
            type="school.report.filed",
            outcome="ok",
        )
        return text if consumed == 1 else ""

    text = await eventually(case_figures)
    assert sample(text, "hulei_open_urgent_tasks") == 2  # bullying victim: high risk
    assert sample(text, "hulei_overdue_tasks") == 0
    # Messages published, by type: the intake is one carrier of its four events.
    assert sample(text, "hulei_events_published_total", type="case.intake.recorded") == 1
    assert sample(text, "hulei_events_published_total", type="task.created") is None
    assert sample(text, "hulei_consumer_pending", consumer="case_tracking-school") == 0
    assert sample(text, "hulei_outbox_pending") is not None

    front = await scrape(gateway, "gateway")
    assert sample(front, "hulei_http_requests_total", route="/v1/reports", status="201") == 1
    assert sample(front, "hulei_dead_letters") == 0
    for service in ("gateway", "school_liaison", "case_tracking", "notifications", "patrol"):
        text = await scrape(gateway, service)
        assert "# TYPE hulei_http_requests_total counter" in text
        assert report["id"] not in text
        assert "rep-" not in text
        assert "case-" not in text
