"""Two processes of case_tracking and of notifications share one durable consumer each:
every report is still handled exactly once."""

from __future__ import annotations

import asyncio
import json
import re
import sqlite3
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from deploy.launcher import Platform, Ports
from tests.support import resident_id

REPORTS = 60


@pytest.fixture(scope="module")
def scaled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(
        var_dir=tmp_path_factory.mktemp("scaled"),
        ports=Ports.free(),
        replicas={"case_tracking": 2, "notifications": 2},
    ) as platform:
        yield platform


def rows(db: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
        return conn.execute(sql).fetchall()


async def file_reports(base_url: str) -> list[str]:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        login = await http.post("/v1/auth/token", data={"username": "teacher1", "password": "demo"})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        limit = asyncio.Semaphore(8)

        async def one(n: int) -> str:
            body = {
                "school_id": "sch-01",
                "category": "truancy",
                "description": "Absent for a week",
                "student": {"name": f"Scale {n}", "id_number": resident_id(n)},
            }
            async with limit:
                r = await http.post("/v1/reports", json=body, headers=headers)
            assert r.status_code == 201, r.text
            return str(r.json()["id"])

        return await asyncio.gather(*(one(n) for n in range(REPORTS)))


def consumed(url: str) -> float:
    text = httpx.get(f"{url}/metrics").text
    pattern = r'hulei_events_consumed_total\{[^}]*outcome="ok"[^}]*\} ([0-9.e+]+)'
    return sum(float(v) for v in re.findall(pattern, text))


def test_each_report_is_handled_once_by_two_replicas(scaled: Platform) -> None:
    report_ids = asyncio.run(file_reports(scaled.gateway_url))
    tasks_db = scaled.var_dir / "case_tracking.db"
    inbox_db = scaled.var_dir / "notifications.db"

    ours = set(report_ids)  # the demo data files reports of its own (video patrol findings)

    def tasks_of_ours() -> dict[str, str]:
        found = rows(tasks_db, "SELECT id, json_extract(doc, '$.report_id') FROM tasks")
        return {str(task): str(report) for task, report in found if report in ours}

    def notices_of(tasks: dict[str, str]) -> Counter[tuple[str, str]]:
        entries = [json.loads(str(r[0])) for r in rows(inbox_db, "SELECT doc FROM inbox")]
        return Counter((e["task_id"], e["recipient"]) for e in entries if e["task_id"] in tasks)

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if inbox_db.exists() and sum(notices_of(tasks_of_ours()).values()) >= 4 * REPORTS:
            break
        time.sleep(0.05)  # poll interval of a bounded wait

    tasks = tasks_of_ours()
    per_report = Counter(tasks.values())
    assert set(per_report) == ours
    assert set(per_report.values()) == {2}
    keys = notices_of(tasks)  # each task: its assignee's and the desk's entry, once
    assert len(keys) == 4 * REPORTS
    assert set(keys.values()) == {1}
    # Both processes of each service took a share of the work.
    for service in ("case_tracking", "notifications"):
        first, second = scaled.service_url(service), scaled.service_url(f"{service}-2")
        assert consumed(first) > 0, service
        assert consumed(second) > 0, service
