"""The platform as `make run` starts it: NATS and five separate processes, driven over HTTP."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import nats
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from deploy.launcher import Platform, Ports, free_port, free_port_block, wait_until
from shared import asyncapi
from shared.identity import Principal, Role, mint_internal_token
from shared.nats_auth import ADMIN
from shared.streams import STREAMS
from shared.web import INTERNAL_HEADER
from tests.support import REPORT, eventually_sync

BUDGET_S = 2.0


class Client:
    def __init__(self, base_url: str) -> None:
        self.http = httpx.Client(base_url=base_url, timeout=10.0)
        self.tokens: dict[str, str] = {}

    def auth(self, user: str) -> dict[str, str]:
        if user not in self.tokens:
            r = self.http.post("/v1/auth/token", data={"username": user, "password": "demo"})
            r.raise_for_status()
            self.tokens[user] = r.json()["access_token"]
        return {"Authorization": f"Bearer {self.tokens[user]}"}

    def get(self, user: str, path: str, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers=self.auth(user))

    def file(self, body: dict[str, Any], *, key: str | None = None) -> httpx.Response:
        headers = self.auth("teacher1") | ({"Idempotency-Key": key} if key else {})
        return self.http.post("/v1/reports", json=body, headers=headers)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    with Platform(var_dir=tmp_path_factory.mktemp("var"), ports=Ports.free()) as p:
        yield p


@pytest.fixture(scope="module")
def client(platform: Platform) -> Client:
    c = Client(platform.gateway_url)
    for user in ("teacher1", "teacher2", "officer1", "social1", "dispatcher1"):
        c.auth(user)  # log in up front: the 2-second budget is about the report, not login
    return c


def test_a_report_gives_both_tasks_and_notifications_within_two_seconds(client: Client) -> None:
    body = {**REPORT, "category": "self_harm", "student": {"name": "Wang Fang"}}
    r = client.file(body)
    accepted = time.monotonic()
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]

    def everything_there() -> dict[str, Any] | None:
        case_id = client.get("teacher1", f"/v1/reports/{report_id}").json()["case_id"]
        if not case_id:
            return None
        tasks = client.get("dispatcher1", "/v1/tasks", case_id=case_id).json()
        officer = client.get("officer1", "/v1/notifications").json()
        social = client.get("social1", "/v1/notifications").json()
        desk = client.get("dispatcher1", "/v1/notifications").json()
        task_ids = {t["id"] for t in tasks}
        desk_told = task_ids <= {n["task_id"] for n in desk}
        assignees_told = task_ids <= {n["task_id"] for n in officer + social}
        if len(tasks) == 2 and desk_told and assignees_told:
            return {"tasks": tasks, "case_id": case_id}
        return None

    found = eventually_sync(everything_there, within=BUDGET_S)
    elapsed = time.monotonic() - accepted
    assert elapsed < BUDGET_S
    police = next(t for t in found["tasks"] if t["agency"] == "police")
    assert police["kind"] == "home_visit"
    assert police["assignee_user_id"] == "officer1"
    assert police["risk_level"] == "critical"
    case = client.get("officer1", f"/v1/cases/{found['case_id']}").json()
    assert case["risk_level"] == "critical"
    assert case["report_ids"] == [report_id]


def test_the_same_idempotency_key_twice_is_one_report_one_case_two_tasks(client: Client) -> None:
    body = {**REPORT, "student": {"name": "Zhao Lei", "id_number": "140502201105055553"}}
    first, second = client.file(body, key="e2e-key-1"), client.file(body, key="e2e-key-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert second.headers.get("Idempotent-Replayed") == "true"

    def linked_case() -> str | None:
        case_id: str | None = client.get("teacher1", f"/v1/reports/{first.json()['id']}").json()[
            "case_id"
        ]
        return case_id

    case_id = eventually_sync(linked_case, within=5)
    eventually_sync(
        lambda: len(client.get("dispatcher1", "/v1/tasks", case_id=case_id).json()) >= 2, within=5
    )
    assert len(client.get("dispatcher1", "/v1/tasks", case_id=case_id).json()) == 2
    case = client.get("dispatcher1", f"/v1/cases/{case_id}").json()
    assert case["report_ids"] == [first.json()["id"]]


def test_teacher2_cannot_read_teacher1s_report(client: Client) -> None:
    report_id = client.file(REPORT).json()["id"]
    assert client.get("teacher1", f"/v1/reports/{report_id}").status_code == 200
    assert client.get("teacher2", f"/v1/reports/{report_id}").status_code == 404


def test_the_public_openapi_document_describes_the_api(client: Client) -> None:
    doc = client.http.get("/openapi.json").json()
    assert {"/v1/reports", "/v1/tasks", "/v1/cases/{case_id}", "/v1/auth/token"} <= set(
        doc["paths"]
    )
    schemas = doc["components"]["schemas"]
    assert {"ReportCreate", "ReportView", "TaskView", "CaseView"} <= set(schemas)
    assert "self_harm" in schemas["ReportCategory"]["enum"]


def test_a_restart_keeps_the_data(platform: Platform, client: Client) -> None:
    body = {**REPORT, "student": {"name": "Chen Jie", "id_number": "14050220120707777X"}}
    report_id = client.file(body).json()["id"]
    case_id = eventually_sync(
        lambda: client.get("teacher1", f"/v1/reports/{report_id}").json()["case_id"], within=5
    )
    platform.stop()
    platform.start()
    again = Client(platform.gateway_url)
    assert again.get("teacher1", f"/v1/reports/{report_id}").json()["case_id"] == case_id
    assert len(again.get("dispatcher1", "/v1/tasks", case_id=case_id).json()) == 2


# Six processes start together, each importing its app: a minute on a loaded machine.
LAUNCH_S = 120


class Launch:
    """`python -m deploy.launcher` on free ports, its console written to a file the test reads
    while it runs: "Hulei is running." is said once every process has answered, which a
    ready gateway alone does not mean (the services may still be starting)."""

    def __init__(self, tmp_path: Path, env: dict[str, str] | None = None) -> None:
        self.gateway, self.nats, self.base = free_port(), free_port(), free_port_block(4)
        argv = [sys.executable, "-m", "deploy.launcher", f"--var={tmp_path / 'var'}"]
        argv += [f"--gateway-port={self.gateway}", f"--nats-port={self.nats}"]
        argv += [f"--service-base-port={self.base}"]
        self.console = tmp_path / "launcher.out"
        with self.console.open("wb") as out:
            self.proc = subprocess.Popen(
                argv,
                stdout=out,
                stderr=subprocess.STDOUT,
                env={**os.environ, **(env or {})},
                start_new_session=True,  # its own process group: a failed test can stop it all
            )

    @property
    def ports(self) -> list[int]:
        return [self.gateway, self.nats, *range(self.base, self.base + 4)]

    def text(self) -> str:
        return self.console.read_text()

    def wait_running(self) -> None:
        def running() -> bool:
            assert self.proc.poll() is None, f"the launcher ended:\n{self.text()}"
            return "Hulei is running." in self.text()

        wait_until(running, within=LAUNCH_S, what="launcher")

    def ctrl_c(self) -> int:
        self.proc.send_signal(signal.SIGINT)
        return self.proc.wait(timeout=30)

    def stop_everything(self) -> None:
        """After a failure: Ctrl-C, then kill -9 to its whole process group (its NATS and
        services too), so a failed test leaves no server behind."""
        if self.proc.poll() is None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.ctrl_c()
                return
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()


def _nothing_listens(ports: list[int]) -> None:
    for port in ports:
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{port}/", timeout=1)


@pytest.mark.timeout(4 * LAUNCH_S)
def test_the_launcher_starts_everything_and_ctrl_c_stops_it_all(tmp_path: Path) -> None:
    launch = Launch(tmp_path)
    try:
        launch.wait_running()
        assert launch.ctrl_c() == 0, launch.text()
    finally:
        launch.stop_everything()
    text = launch.text()
    assert f"http://127.0.0.1:{launch.gateway}" in text
    assert "teacher1" in text
    assert "stopped." in text
    _nothing_listens(launch.ports)


def _child_running(parent: int, module: str) -> int | None:
    """The pid of `parent`'s child process that runs `python -m <module>`."""
    children = Path(f"/proc/{parent}/task/{parent}/children").read_text().split()
    for pid in map(int, children):
        with contextlib.suppress(FileNotFoundError):
            if module in Path(f"/proc/{pid}/cmdline").read_bytes().decode().split("\0"):
                return pid
    return None


@pytest.mark.timeout(4 * LAUNCH_S)
def test_the_launcher_restarts_a_process_that_dies(tmp_path: Path) -> None:
    launch = Launch(tmp_path)
    case_tracking = f"http://127.0.0.1:{launch.base + 1}/readyz"
    try:
        launch.wait_running()
        first = _child_running(launch.proc.pid, "services.case_tracking")
        assert first is not None
        os.kill(first, signal.SIGKILL)
        wait_until(
            lambda: (
                _child_running(launch.proc.pid, "services.case_tracking") not in (None, first)
                and httpx.get(case_tracking).status_code == 200
            ),
            within=LAUNCH_S,
            what="case_tracking started again",
        )
        assert launch.ctrl_c() == 0, launch.text()
    finally:
        launch.stop_everything()
    text = launch.text()
    assert "case_tracking exited with -9; starting it again now" in text, text
    assert "stopped." in text


@pytest.mark.timeout(4 * LAUNCH_S)
def test_a_process_that_dies_while_starting_fails_the_launch_at_once(tmp_path: Path) -> None:
    """Not at the readiness deadline, minutes later: the supervisor is not watching yet."""
    launch = Launch(tmp_path, env={"HULEI_PATROL_STORE_URL": "nosuchstore://anywhere"})
    try:
        code = launch.proc.wait(timeout=LAUNCH_S)
    finally:
        launch.stop_everything()
    text = launch.text()
    assert code == 1, text
    said = r"cannot start: patrol exited with \d+ \(log: .*/patrol\.log\) while starting"
    assert re.search(said, text), text
    assert "everything started was stopped" in text
    assert "Hulei is running." not in text
    _nothing_listens(launch.ports)


def test_the_launcher_refuses_to_start_on_a_taken_port_and_starts_nothing(tmp_path: Path) -> None:
    gateway, base = free_port(), free_port_block(4)
    with socket.socket() as squatter:
        squatter.bind(("127.0.0.1", 0))
        squatter.listen()
        nats = squatter.getsockname()[1]
        argv = [sys.executable, "-m", "deploy.launcher", f"--var={tmp_path / 'var'}"]
        argv += [f"--gateway-port={gateway}", f"--nats-port={nats}"]
        argv += [f"--service-base-port={base}"]
        done = subprocess.run(argv, capture_output=True, timeout=60, check=False, env=os.environ)
    text = done.stdout.decode()
    assert done.returncode == 1, text
    assert f"nats {nats}" in text
    assert "nothing was started" in text
    assert not (tmp_path / "var" / "logs").exists()  # not one process was spawned


def test_a_service_port_reached_directly_refuses_without_the_gateways_credential(
    platform: Platform,
) -> None:
    intruder = Principal(user_id="intruder", role=Role.dispatcher)
    for service, path in (("school_liaison", "/schools"), ("case_tracking", "/tasks")):
        forged = mint_internal_token(intruder, key=Ed25519PrivateKey.generate(), service=service)
        url = platform.service_url(service) + path
        assert httpx.get(url).status_code == 401
        assert httpx.get(url, headers={INTERNAL_HEADER: forged}).status_code == 401


def test_no_childs_name_or_id_in_any_file_the_run_wrote(platform: Platform) -> None:
    """Every SQLite file, JetStream file and log of this module's run, as raw bytes."""
    secrets = [
        b"Wang Fang",
        b"Zhao Lei",
        b"Li Ming",
        b"Chen Jie",
        b"140502201105055553",
        b"14050220120707777X",
        str(REPORT["student"]["id_number"]).encode(),
    ]
    files = [p for p in platform.var_dir.rglob("*") if p.is_file()]
    assert any(p.suffix == ".db" for p in files)
    assert any("jetstream" in str(p) for p in files)
    assert any(p.suffix == ".log" for p in files)
    leaks = [
        (str(p.relative_to(platform.var_dir)), s.decode())
        for p in files
        for s in secrets
        if s in p.read_bytes()
    ]
    assert leaks == []


def test_every_subject_the_run_published_is_in_the_served_event_catalogue(
    platform: Platform, client: Client
) -> None:
    """The demo data and this module's flows published on every stream; each subject the
    streams hold must be a channel of `/asyncapi.json` (a schedule matches its template)."""
    served = client.http.get("/asyncapi.json")
    assert served.status_code == 200
    assert served.json() == json.loads(json.dumps(asyncapi.document()))
    channels = [c["address"] for c in served.json()["channels"].values()]

    async def subjects() -> dict[str, int]:
        nc = await nats.connect(platform.nats_url, **platform.credentials(ADMIN))
        try:
            found: dict[str, int] = {}
            for spec in STREAMS:
                if spec.name == "DEADLETTER":  # copies of other subjects, under deadletter.>
                    continue
                info = await nc.jetstream().stream_info(spec.name, subjects_filter=">")
                found.update(info.state.subjects or {})
            return found
        finally:
            await nc.close()

    held = asyncio.run(subjects())
    assert {"school.report.filed.v1", "case.intake.recorded.v1"} <= set(held)
    # A `{parameter}` of an address stands for one token or more (a schedule's key has dots).
    patterns = [re.sub(r"\\\{\w+\\\}", "[^ ]+", re.escape(c)) for c in channels]
    template = re.compile("|".join(patterns))
    assert sorted(s for s in held if not template.fullmatch(s)) == []


def test_every_file_the_run_wrote_is_readable_by_its_owner_only(platform: Platform) -> None:
    """Databases, logs, NATS configs and JetStream data hold children's data: mode 0600/0700."""
    paths = [platform.var_dir, *platform.var_dir.rglob("*")]
    assert any(p.suffix == ".db" for p in paths)
    assert any("jetstream" in str(p) for p in paths)
    open_to_others = [
        (str(p.relative_to(platform.var_dir)), oct(p.stat().st_mode & 0o777))
        for p in paths
        if p.stat().st_mode & 0o077
    ]
    assert open_to_others == []


def test_an_acute_risk_counselling_session_becomes_a_case_with_tasks(client: Client) -> None:
    """Workflow 3 into workflow 1 across processes: school_liaison files the report, the
    case_tracking process opens the case and its tasks, notifications tells the officer."""
    post = client.http.post
    entry = post(
        "/v1/counselling/entries",
        headers=client.auth("social1"),
        json={"school_id": "sch-04", "reason": "psychological_imbalance",
              "student": {"name": "Gao Min", "id_number": "14050220120909432X"}},
    )  # fmt: skip
    assert entry.status_code == 201, entry.text
    session = post(
        f"/v1/counselling/entries/{entry.json()['id']}/sessions",
        headers=client.auth("social1"),
        json={"scheduled_at": "2026-03-02T09:00:00+00:00", "counsellor_id": "social1",
              "counsellor_role": "social_worker", "place": "Counselling room"},
    )  # fmt: skip
    assert session.status_code == 201, session.text
    held = post(
        f"/v1/counselling/sessions/{session.json()['id']}/record",
        headers=client.auth("social1"),
        json={"state": 1, "acute_risk": True, "note": "Spoke of ending it all"},
    )
    assert held.status_code == 200, held.text
    report_id = held.json()["report_id"]

    def tasks() -> list[dict[str, Any]] | None:
        case_id = client.get("dispatcher1", f"/v1/reports/{report_id}").json()["case_id"]
        found = client.get("dispatcher1", "/v1/tasks", case_id=case_id).json() if case_id else []
        return found if len(found) == 2 else None

    found = eventually_sync(tasks, within=10)
    assert {t["risk_level"] for t in found} == {"critical"}
    police = next(t for t in found if t["agency"] == "police")
    assert police["assignee_user_id"] == "officer2"  # sch-04's community officer
    told = eventually_sync(
        lambda: (
            {n["task_id"] for n in client.get("officer2", "/v1/notifications").json()}
            >= {police["id"]}
        ),
        within=10,
    )
    assert told
