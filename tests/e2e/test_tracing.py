"""One report, one trace: gateway → school_liaison → JetStream → case_tracking → notifications
and patrol, assembled from the span files each process writes."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from deploy.launcher import SERVICES, Platform, Ports
from tests.support import REPORT


@pytest.fixture(scope="module")
def traced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    var = tmp_path_factory.mktemp("traced")
    env = {
        f"HULEI_{name.upper()}_OTEL_EXPORTER": f"file:{var / 'spans' / f'{name}.jsonl'}"
        for name in (*SERVICES, "gateway")
    }
    with Platform(var_dir=var, ports=Ports.free(), extra_env=env) as platform:
        yield platform


def spans(platform: Platform) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = []
    for path in (platform.var_dir / "spans").glob("*.jsonl"):
        found += [json.loads(line) for line in path.read_text().splitlines() if line]
    return found


def test_one_report_gives_one_trace_across_every_process(traced: Platform) -> None:
    http = httpx.Client(base_url=traced.gateway_url, timeout=10)
    token = http.post("/v1/auth/token", data={"username": "teacher1", "password": "demo"})
    headers = {"Authorization": f"Bearer {token.json()['access_token']}"}
    body = {**REPORT, "category": "self_harm", "student": {"name": "Traced Child"}}
    assert http.post("/v1/reports", json=body, headers=headers).status_code == 201

    wanted = {
        ("gateway", "POST /v1/reports"),
        ("school_liaison", "POST /reports"),
        ("case_tracking", "consume school.report.filed.v1"),
        ("notifications", "consume task.created.v1"),
        ("patrol", "consume task.created.v1"),
        ("school_liaison", "consume case.report.linked.v1"),
    }
    deadline = time.monotonic() + 5
    while True:
        found = spans(traced)
        root = next((s for s in found if s["name"] == "POST /v1/reports"), None)
        in_trace = {
            (s["service"], s["name"]) for s in found if root and s["trace_id"] == root["trace_id"]
        }
        if wanted <= in_trace or time.monotonic() > deadline:
            break
        time.sleep(0.05)  # poll interval of a bounded wait
    assert wanted <= in_trace, wanted - in_trace
    assert root is not None
    assert root["parent_id"] is None
