"""Partner webhooks on the platform as `make run` starts it: a burst of reports, the
notifications process killed (kill -9) in the middle of delivering it and started again; every
event reaches the receiver, and the delivery log has exactly one entry per event."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from standardwebhooks import Webhook

from deploy.launcher import Platform, Ports, wait_until
from tests.support import REPORT

BURST = 16
TYPES = ["case.opened", "task.created"]


class Hook(BaseHTTPRequestHandler):
    """A slow partner (50 ms an answer): deliveries are in flight when the process dies."""

    got: list[tuple[dict[str, str], bytes]]
    torn: list[dict[str, str]]
    lock: threading.Lock

    def do_POST(self) -> None:
        headers = {k.lower(): v for k, v in self.headers.items()}
        length = int(headers.get("content-length", "0"))
        body = self.rfile.read(length)
        if len(body) < length:
            # The sender died between its headers and its body (the kill -9): nothing arrived
            # to accept, and no one is left to answer. The delivery is sent again after restart.
            with self.lock:
                self.torn.append(headers)
            return
        time.sleep(0.05)  # the receiver's own latency, not a wait of the test
        with self.lock:
            self.got.append((headers, body))
        self.send_response(200)
        self.send_header("content-length", "0")
        self.end_headers()

    def log_message(self, *_args: Any) -> None:
        return


@pytest.fixture(scope="module")
def receiver() -> Iterator[tuple[ThreadingHTTPServer, type[Hook]]]:
    handler = type("Handler", (Hook,), {"got": [], "torn": [], "lock": threading.Lock()})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server, handler
    server.shutdown()


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    env = {
        "HULEI_NOTIFICATIONS_WEBHOOK_ALLOW_HOSTS": "127.0.0.1",
        "HULEI_NOTIFICATIONS_WEBHOOK_TIMEOUT_S": "2",  # a killed send's lease: 4 s
        "HULEI_NOTIFICATIONS_WEBHOOK_POLL_S": "0.1",
    }
    with Platform(var_dir=tmp_path_factory.mktemp("var"), ports=Ports.free(), extra_env=env) as p:
        yield p


def token(http: httpx.Client, **form: str) -> dict[str, str]:
    r = http.post("/v1/auth/token", data=form)
    r.raise_for_status()
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def test_a_killed_deliverer_loses_and_doubles_nothing(
    platform: Platform, receiver: tuple[ThreadingHTTPServer, type[Hook]]
) -> None:
    server, hook = receiver
    http = httpx.Client(base_url=platform.gateway_url, timeout=10.0)
    admin = token(http, username="admin1", password="demo")
    teacher = token(http, username="teacher1", password="demo")
    dispatcher = token(http, username="dispatcher1", password="demo")
    body = {"client_id": "burst-partner", "display_name": "Burst", "role": "dispatcher"}
    secret = http.post("/v1/admin/clients", json=body, headers=admin).json()["client_secret"]
    partner = token(
        http, grant_type="client_credentials", client_id="burst-partner", client_secret=secret
    )
    url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    r = http.post(
        "/v1/webhooks/subscriptions", json={"url": url, "event_types": TYPES}, headers=partner
    )
    assert r.status_code == 201, r.text
    sub = r.json()

    reports = []
    for n in range(BURST):
        if n == BURST // 2:
            wait_until(lambda: len(hook.got) > 0, within=20, what="first deliveries")
            platform.kill("notifications")  # kill -9, deliveries in flight
        report = {**REPORT, "student": {"name": f"Burst Child {n}"}}
        filed = http.post("/v1/reports", json=report, headers=teacher)
        assert filed.status_code == 201, filed.text
        reports.append(filed.json()["id"])
    platform.start_process("notifications")  # as the supervisor would

    # What should have been sent: each report's case opened, and each of its tasks created.
    def cases() -> dict[str, int] | None:
        found = {}
        for report_id in reports:
            case_id = http.get(f"/v1/reports/{report_id}", headers=teacher).json()["case_id"]
            if not case_id:
                return None
            tasks = http.get("/v1/tasks", params={"case_id": case_id}, headers=dispatcher).json()
            if len(tasks) < 2:
                return None
            found[case_id] = len(tasks)
        return found

    wait_until(lambda: cases() is not None, within=30, what="every case and its tasks")
    expected = cases()
    assert expected is not None
    want = len(expected) + sum(expected.values())

    def log() -> list[dict[str, Any]]:
        rows: list[dict[str, Any]] = []
        next_url: str | None = f"/v1/webhooks/subscriptions/{sub['id']}/deliveries?limit=500"
        while next_url:
            page = http.get(next_url, headers=partner)
            rows.extend(page.json())
            next_url = page.links.get("next", {}).get("url")
        return rows

    def all_delivered() -> bool:
        rows = log()
        return len(rows) >= want and all(row["state"] == "delivered" for row in rows)

    wait_until(all_delivered, within=40, what="every delivery delivered")
    rows = log()
    assert len(rows) == want  # exactly one entry per event: none missing, none doubled
    assert len({row["event_id"] for row in rows}) == want
    opened = [row["case_id"] for row in rows if row["event_type"] == "case.opened"]
    assert sorted(opened) == sorted(expected)
    created = [row["case_id"] for row in rows if row["event_type"] == "task.created"]
    assert {c: created.count(c) for c in expected} == expected

    # Every event reached the receiver at least once, signed, under its one webhook-id.
    with hook.lock:
        got, torn = list(hook.got), list(hook.torn)
    assert {h["webhook-id"] for h, _ in got} == {row["id"] for row in rows}
    assert {h["webhook-id"] for h in torn} <= {row["id"] for row in rows}  # sent again whole
    verifier = Webhook(sub["secret"])
    for headers, payload in got:
        verifier.verify(payload, headers)
    assert platform.procs["notifications"].poll() is None
