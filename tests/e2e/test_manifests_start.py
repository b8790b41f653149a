"""The deployments as an operator starts them, without Docker or a cluster.

The dev and prod overlays (rendered by kustomize) and the compose file (with a `.env` written by
deploy/envfile.py, as `make up` does) are read for each process's command, environment and probe
paths; the processes then run here (tests/manifests_run.py): NATS from the manifests' config with
all its nodes (three for Kubernetes, routes included), the streams job as the NATS admin, the
four services and the gateway. Every probe path must answer, a report filed through the gateway
must produce its tasks, and every process's traces must reach the collector the manifests name.
What cannot run here is substituted and said so in tests/manifests_run.py (the store, the TLS
certificates).

The mutation tests break one thing in a copy of a render and show the start fails, fast: each
starts only what the breakage touches, with a short bound.

`make test` starts the dev overlay (the short form); the prod overlay, compose, the mutations
and the collector endpoints (marked deploy_full, about two minutes) run in `make test-deploy`,
which CI runs too.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NamedTuple

import httpx
import pytest

from deploy import envfile
from deploy.launcher import memory_bytes, wait_until
from tests import deploy_checks as dc
from tests import manifests
from tests.manifests_run import Local, StartError
from tests.support import REPORT, required

Obj = dict[str, Any]
SERVICE_NAMES = ("school_liaison", "case_tracking", "patrol", "notifications", "gateway")
ADMIN_PASSWORD = "an-admin-password-for-the-test"
# Without demo data a deployment has no schools, and nothing (API or command) registers one: the
# test writes one into school_liaison's store with that process's own settings (reported).
ADD_SCHOOL = """
import asyncio
from services.school_liaison.settings import Settings
from shared.store import open_store

async def main():
    store = await open_store(Settings().store_url)
    async with store.transaction() as tx:
        await tx.put("schools", {"id": "sch-01", "name": "School 1", "district": "test",
            "is_liaison_station": False, "community_officer_id": "officer-li",
            "social_org_id": "org-test"})
    await store.close()

asyncio.run(main())
"""


def need_kubectl() -> None:
    required(dc.kubectl(), "kubectl (with its built-in kustomize) is not on PATH")


def k8s_spec(overlay: str, mutate: Callable[[list[Obj]], None] | None = None) -> manifests.Spec:
    need_kubectl()
    objects = dc.render_overlay(overlay)
    if mutate is not None:
        mutate(objects)
    external = dc.load_external_secrets() if overlay == "prod" else {}
    return manifests.kubernetes(objects, external, overlay)


def compose_spec(directory: Path, mutate: Callable[[Obj], None] | None = None) -> manifests.Spec:
    env_file = directory / ".env"
    example = dc.COMPOSE_ENV_EXAMPLE.read_text()
    env_file.write_text(envfile.render(example, envfile.fresh_secrets()))
    doc = dc.load_compose()
    if mutate is not None:
        mutate(doc)
    return manifests.compose(doc, dc.read_env_file(env_file))


@contextmanager
def started(spec: manifests.Spec, directory: Path, *, within: float = 60) -> Iterator[Local]:
    local = Local(spec, directory, probe_within=within)
    try:
        local.start_all()
        yield local
    finally:
        local.stop()


# ---- the core flow through the gateway ---------------------------------------------------------


def token(gateway: httpx.Client, user: str, password: str) -> dict[str, str]:
    r = gateway.post("/v1/auth/token", data={"username": user, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def accounts(local: Local, gateway: httpx.Client) -> tuple[dict[str, str], dict[str, str]]:
    """(teacher, dispatcher) headers: the demo accounts when the deployment seeds them, else a
    first admin made with the gateway's bootstrap command, who adds the two."""
    env = local.environment(local.spec.processes[gateway_name(local)])
    if env.get("HULEI_GATEWAY_DEMO_MODE", "").lower() == "true":
        return token(gateway, "teacher1", "demo"), token(gateway, "dispatcher1", "demo")
    liaison = next(n for n, p in local.spec.processes.items() if "school_liaison" in p.argv[-1])
    local.exec(liaison, ["python", "-c", ADD_SCHOOL], {})
    argv = ["python", "-m", "gateway.bootstrap", "--username", "chief-admin"]
    local.exec(gateway_name(local), argv, {"HULEI_ADMIN_PASSWORD": ADMIN_PASSWORD})
    admin = token(gateway, "chief-admin", ADMIN_PASSWORD)
    staff = [("teacher-wu", {"role": "teacher", "school_id": REPORT["school_id"]})]
    staff.append(("dispatcher-he", {"role": "dispatcher"}))
    for username, scope in staff:
        body = {"username": username, "password": f"{username}-password", "display_name": username}
        r = gateway.post("/v1/admin/users", json=body | scope, headers=admin)
        assert r.status_code == 201, r.text
    return tuple(token(gateway, u, f"{u}-password") for u, _ in staff)  # type: ignore[return-value]


def gateway_name(local: Local) -> str:
    return next(n for n, p in local.spec.processes.items() if p.argv[-1:] == ["gateway"])


class Flow(NamedTuple):
    """What the core flow made, and who may read it again."""

    gateway: httpx.Client
    reader: dict[str, str]  # the dispatcher's headers
    report_id: str
    case_id: str
    tasks: list[dict[str, Any]]


def nats_keeps_its_memory_limit(local: Local) -> None:
    """Every NATS node's Go runtime runs with the memory limit its manifest gives it."""
    declared = memory_bytes(local.spec.nats.env["GOMEMLIMIT"])
    for ports in local.nats_ports:
        varz = httpx.get(f"http://127.0.0.1:{ports[8222]}/varz", timeout=5).json()
        assert varz["gomemlimit"] == declared, varz


def core_flow(local: Local) -> Flow:
    nats_keeps_its_memory_limit(local)
    gateway = httpx.Client(base_url=local.url(gateway_name(local)), timeout=10)
    teacher, reader = accounts(local, gateway)
    r = gateway.post("/v1/reports", json=REPORT, headers=teacher)
    assert r.status_code == 201, r.text
    report_id = r.json()["id"]
    found: dict[str, Any] = {}

    def tasks_there() -> bool:
        found["report"] = gateway.get(f"/v1/reports/{report_id}", headers=teacher).json()
        if case_id := found["report"]["case_id"]:
            tasks = gateway.get("/v1/tasks", params={"case_id": case_id}, headers=reader)
            found["tasks"] = tasks.json()
        return len(found.get("tasks", [])) == 2

    try:
        wait_until(tasks_there, within=20, what="the report's case and its two tasks")
    except TimeoutError as e:
        raise AssertionError(f"{e}: {found}") from None
    assert {t["agency"] for t in found["tasks"]} == {"police", "social_work"}
    wait_until(
        lambda: all(local.traced(s) for s in SERVICE_NAMES),
        within=10,
        what="every service's traces",
    )
    return Flow(gateway, reader, report_id, found["report"]["case_id"], found["tasks"])


def test_the_dev_overlay_starts_and_runs_the_core_flow(tmp_path: Path) -> None:
    with started(k8s_spec("dev"), tmp_path) as local:
        core_flow(local)


@pytest.mark.deploy_full
def test_the_prod_overlay_starts_and_runs_the_core_flow(tmp_path: Path) -> None:
    with started(k8s_spec("prod"), tmp_path) as local:
        core_flow(local)


@pytest.mark.deploy_full
def test_compose_starts_and_runs_the_core_flow(tmp_path: Path) -> None:
    with started(compose_spec(tmp_path), tmp_path) as local:
        core_flow(local)


# ---- breakages the start catches ---------------------------------------------------------------
# One per kind; the network-policy, MongoDB keyFile and NATS route ones are static checks in
# tests/integration/test_network_policies.py.


def set_env(doc: Obj, service: str, name: str, value: str) -> None:
    doc["services"][service]["environment"][name] = value


@pytest.mark.deploy_full
def test_a_wrong_nats_port_keeps_the_service_from_getting_ready(tmp_path: Path) -> None:
    url = "HULEI_SCHOOL_LIAISON_NATS_URL"
    spec = compose_spec(tmp_path, lambda d: set_env(d, "school_liaison", url, "tls://nats:4223"))
    local = Local(spec, tmp_path, probe_within=5)
    try:
        with pytest.raises(StartError, match="school_liaison /readyz not ready"):
            local.start_some(["school_liaison"])
    finally:
        local.stop()


@pytest.mark.deploy_full
def test_a_probe_path_typo_fails_the_start(tmp_path: Path) -> None:
    def typo(objects: list[Obj]) -> None:
        gateway = next(
            o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "gateway"
        )
        gateway["spec"]["template"]["spec"]["containers"][0]["readinessProbe"]["httpGet"][
            "path"
        ] = "/readz"

    local = Local(k8s_spec("dev", typo), tmp_path, probe_within=20)
    try:
        local.start_postgres()
        local.start_nats()
        local.start("gateway")  # no services: the typo is found before readiness matters
        with pytest.raises(StartError, match="/readz: 404"):
            local.probe("gateway")
    finally:
        local.stop()


@pytest.mark.deploy_full
def test_a_typo_in_a_store_url_user_fails_the_start(tmp_path: Path) -> None:
    def typo(objects: list[Obj]) -> None:
        patrol = next(
            o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "patrol"
        )
        for var in patrol["spec"]["template"]["spec"]["containers"][0]["env"]:
            if var["name"].endswith("_STORE_URL"):
                var["value"] = var["value"].replace("//patrol:", "//patrl:")

    # PostgreSQL refuses the login and patrol exits; a MongoDB URL is checked against the init
    # script's users before the SQLite stand-in is used. Either way the error names the user.
    local = Local(k8s_spec("dev", typo), tmp_path, probe_within=20)
    try:
        with pytest.raises(StartError, match="patrl"):
            local.start_some(["patrol"])
    finally:
        local.stop()


@pytest.mark.deploy_full
def test_garbage_in_the_store_init_script_fails_the_start(tmp_path: Path) -> None:
    def garbage(objects: list[Obj]) -> None:
        cluster = next((o for o in objects if o["kind"] == "Cluster"), None)
        if cluster is not None:  # CloudNativePG: its bootstrap SQL
            cluster["spec"]["bootstrap"]["initdb"]["postInitSQL"].append("CREAT ROLE oops")
            return
        # MongoDB's init JavaScript, parsed by node
        required(
            shutil.which("node"), "node is not on PATH: the MongoDB init script cannot be parsed"
        )
        init = next(
            o for o in objects if o["kind"] == "ConfigMap" and "init" in o["metadata"]["name"]
        )
        name = next(iter(init["data"]))
        init["data"][name] += "\nfor (const x of {{ garbage\n"

    local = Local(k8s_spec("dev", garbage), tmp_path)
    try:
        with pytest.raises(StartError, match="init script"):
            local.start_all()
    finally:
        local.stop()


@pytest.mark.deploy_full
@pytest.mark.parametrize("endpoint", ["http://jaeger:4318", "http://jaeger:4317"])
def test_traces_reach_the_collector_only_at_its_endpoint(tmp_path: Path, endpoint: str) -> None:
    """The right endpoint as a control (a request makes a span; probes make none), then a
    wrong port."""

    def point(d: Any) -> None:
        set_env(d, "school_liaison", "OTEL_EXPORTER_OTLP_ENDPOINT", endpoint)
        set_env(d, "school_liaison", "OTEL_BSP_SCHEDULE_DELAY", "200")  # export within 0.2 s

    local = Local(compose_spec(tmp_path, point), tmp_path, probe_within=30)
    try:
        local.start_some(["school_liaison"])
        assert httpx.get(f"{local.url('school_liaison')}/schools", timeout=5).status_code == 401
        arrived = True
        try:
            wait_until(lambda: local.traced("school_liaison"), within=3, what="traces")
        except TimeoutError:
            arrived = False
        assert arrived == endpoint.endswith(":4318")
    finally:
        local.stop()
