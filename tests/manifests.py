"""What the deployment files say each process runs, read from the rendered files themselves.

`kubernetes(objects)` (a rendered overlay) and `compose(compose, env)` (the compose file and an
`.env`) give a `Spec`: each Hulei process's command, environment (ConfigMaps and Secrets
resolved, `${VAR}` interpolated), HTTP port and probe paths; the NATS server's config, includes
and environment; and the network names the processes dial. `rewrite` points those names at local
ports. Nothing is corrected: a wrong name, port or path stays wrong and the local start fails on
it (tests/manifests_run.py starts them, tests/e2e/test_manifests_start.py drives them).
"""

from __future__ import annotations

import base64
import re
import secrets
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from shared.identity import generate_keypair
from tests import deploy_checks as dc

Obj = dict[str, Any]

# The collector the deployments send traces to, outside the manifests (k8s) or a compose service.
OTLP_K8S = ("otel-collector.observability.svc.cluster.local", 4318)
PROBE_KINDS = dc.PROBES


@dataclass
class Process:
    name: str
    argv: list[str]
    env: dict[str, str]
    port: int | None = None  # the container port the probes (and Services) use
    probes: list[str] = field(default_factory=list)  # HTTP paths, in probe order
    job: bool = False
    mounts: dict[str, dict[str, str]] = field(default_factory=dict)  # path → {file: content}


@dataclass
class Nats:
    config: str
    includes: dict[str, str]
    env: dict[str, str]
    nodes: list[str]  # server (pod) names: one per node
    # (host, port) a node is dialled at, per node: the clients' and the routes' names.
    names: list[set[tuple[str, int]]]
    probe: str | None = None


@dataclass
class Postgres:
    """What the deployment's PostgreSQL is told to create on its first start."""

    names: set[tuple[str, int]]  # what the processes dial
    scripts: list[tuple[str, str]] = field(default_factory=list)  # (database, psql script)
    env: dict[str, str] = field(default_factory=dict)  # read by the scripts (\getenv)
    roles: dict[str, str] = field(default_factory=dict)  # role → password, set after the scripts


@dataclass
class Spec:
    source: str
    processes: dict[str, Process]
    nats: Nats
    stores: dict[str, str] = field(default_factory=dict)  # process → STORE_URL as written
    store_init: dict[str, str] = field(default_factory=dict)  # init script name → text
    otlp: set[tuple[str, int]] = field(default_factory=set)
    postgres: Postgres | None = None
    # (host, port) → (process, container port): what the Services (compose: service names) lead to.
    services: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)


# ---- Kubernetes --------------------------------------------------------------------------------


def prod_secret_values(keys: set[str]) -> dict[str, str]:
    """Stand-ins of the right shape for the external Secrets' keys (as the README's commands
    make them): one key pair, base64 keys, URL-safe passwords."""
    signing, verify = generate_keypair()
    shapes = {
        "internal-signing-key": signing,
        "internal-verify-key": verify,
        "pii-key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "notes-key": base64.b64encode(secrets.token_bytes(32)).decode(),
        "jwt-secret": secrets.token_urlsafe(48),
        "mongo-root-username": "root",
        "mongo-keyfile": base64.b64encode(secrets.token_bytes(96)).decode(),
    }
    prefix = {"nats-password-": "nats-"}
    return {
        k: shapes.get(k)
        or next((p + secrets.token_hex(24) for s, p in prefix.items() if k.startswith(s)), None)
        or secrets.token_hex(24)
        for k in keys
    }


def sources(objects: list[Obj], external: Mapping[str, set[str]]) -> dc.Sources:
    """The render's ConfigMaps and Secrets, external Secrets filled with stand-ins."""
    found = dc.Sources(objects, external)
    # One set across all Secrets: the signing key in one and the verify key in another pair up.
    values = prod_secret_values(set().union(*external.values()))
    for name, keys in external.items():
        own: dict[str, str | None] = {k: values[k] for k in keys}
        if "username" in keys:  # a basic-auth Secret per database role: hulei-pg-<process>
            own["username"] = name.rpartition("-pg-")[2].replace("-", "_")
        if "password" in keys:
            own["password"] = secrets.token_hex(24)
        found.secrets.setdefault(name, own)
    return found


def _env(where: str, container: Obj, found: dc.Sources) -> dict[str, str]:
    env, errors = dc.container_env(where, container, found)
    if errors:
        raise ValueError("; ".join(errors))
    return {k: v if v is not None else dc._stand_in(k) for k, v in env.items()}


def _probe_paths(container: Obj) -> list[str]:
    return [
        container[kind]["httpGet"]["path"]
        for kind in PROBE_KINDS
        if "httpGet" in container.get(kind, {})
    ]


def _http_port(container: Obj) -> int | None:
    ports = container.get("ports", [])
    for kind in PROBE_KINDS:
        wanted = container.get(kind, {}).get("httpGet", {}).get("port")
        for p in ports:
            if wanted in (p.get("name"), p["containerPort"]):
                return int(p["containerPort"])
    return int(ports[0]["containerPort"]) if ports else None


def _volume_files(spec: Obj, container: Obj, found: dc.Sources) -> dict[str, dict[str, str]]:
    """mountPath → files of the ConfigMap/Secret volume mounted there (values may be None:
    a cert-manager Secret, supplied by the runner)."""
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    mounts: dict[str, dict[str, str]] = {}
    for mount in container.get("volumeMounts", []):
        volume = volumes.get(mount["name"], {})
        for kind, key in (("secret", "secretName"), ("configMap", "name")):
            if kind in volume:
                data = found.lookup(kind, volume[kind][key]) or {}
                items = volume[kind].get("items") or [{"key": k, "path": k} for k in data]
                mounts[mount["mountPath"]] = {
                    i["path"]: data.get(i["key"]) or "" for i in items if "subPath" not in mount
                }
    return mounts


def _service_names(name: str, namespace: str) -> list[str]:
    return [
        name,
        f"{name}.{namespace}",
        f"{name}.{namespace}.svc",
        f"{name}.{namespace}.svc.cluster.local",
    ]


def kubernetes(objects: list[Obj], external: Mapping[str, set[str]], source: str) -> Spec:
    found = sources(objects, external)
    processes: dict[str, Process] = {}
    nats: Nats | None = None
    for obj, spec, _labels in dc.pod_specs(objects):
        name = obj["metadata"]["name"]
        container = spec["containers"][0]
        argv = [*container.get("command", []), *container.get("args", [])]
        where = dc._name(obj)
        if dc._is_hulei_image(container.get("image")):
            processes[name] = Process(
                name=name,
                argv=argv,
                env=_env(where, container, found),
                port=_http_port(container),
                probes=_probe_paths(container),
                job=obj["kind"] == "Job",
                mounts=_volume_files(spec, container, found),
            )
        elif container.get("image", "").startswith("nats:"):
            nats = _k8s_nats(objects, obj, spec, container, found)
    if nats is None:
        raise LookupError("no NATS StatefulSet in the render")
    return Spec(
        source=source,
        processes=processes,
        nats=nats,
        stores={
            n: v for n, p in processes.items() for k, v in p.env.items() if k.endswith("_STORE_URL")
        },
        store_init={
            f: t
            for cm in dc._by_kind(objects, "ConfigMap").values()
            if "init" in cm["metadata"]["name"]
            for f, t in cm.get("data", {}).items()
        },
        otlp={OTLP_K8S},
        services=_k8s_services(objects),
        postgres=_cnpg(objects, found),
    )


def _cnpg(objects: list[Obj], found: dc.Sources) -> Postgres | None:
    """A CloudNativePG Cluster, as the operator would set it up: initdb's database and owner,
    postInitSQL (superuser, database postgres), postInitApplicationSQL (the application
    database), then the managed roles' passwords from their Secrets. Clients dial the
    operator's Services <name>-rw, -ro and -r."""
    cluster = next((o for o in objects if o["kind"] == "Cluster"), None)
    if cluster is None:
        return None
    name, ns = cluster["metadata"]["name"], cluster["metadata"].get("namespace", "default")
    initdb = cluster["spec"].get("bootstrap", {}).get("initdb", {})
    database, owner = initdb.get("database", "app"), initdb.get("owner", "app")
    names = {(h, 5432) for s in ("rw", "ro", "r") for h in _service_names(f"{name}-{s}", ns)}
    scripts = [
        ("postgres", f"CREATE ROLE {owner} LOGIN;\nCREATE DATABASE {database} OWNER {owner};")
    ]
    scripts.append(("postgres", ";\n".join(initdb.get("postInitSQL", [])) + ";"))
    scripts.append((database, ";\n".join(initdb.get("postInitApplicationSQL", [])) + ";"))
    roles = {}
    for role in cluster["spec"].get("managed", {}).get("roles", []):
        secret = found.lookup("secret", role.get("passwordSecret", {}).get("name", "")) or {}
        roles[role["name"]] = secret.get("password") or ""
    return Postgres(names, scripts, {}, roles)


def _k8s_services(objects: list[Obj]) -> dict[tuple[str, int], tuple[str, int]]:
    routes: dict[tuple[str, int], tuple[str, int]] = {}
    for service in dc._by_kind(objects, "Service").values():
        namespace = service["metadata"].get("namespace", "default")
        for obj, spec, labels in dc.pod_specs(objects):
            if obj["kind"] != "Deployment" or not dc._selects(
                service["spec"].get("selector", {}), labels
            ):
                continue
            container = spec["containers"][0]
            named = {p.get("name"): int(p["containerPort"]) for p in container.get("ports", [])}
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                target = named.get(target) if isinstance(target, str) else int(target)
                if target is not None:
                    for host in _service_names(service["metadata"]["name"], namespace):
                        routes[(host, int(port["port"]))] = (obj["metadata"]["name"], target)
    return routes


def _k8s_nats(objects: list[Obj], sts: Obj, spec: Obj, container: Obj, found: dc.Sources) -> Nats:
    mounts = _volume_files(spec, container, found)
    conf_path = next(
        a
        for a in [*container.get("command", []), *container.get("args", [])]
        if a.endswith(".conf")
    )
    directory, _, conf_name = conf_path.rpartition("/")
    files = mounts[directory]
    namespace = sts["metadata"].get("namespace", "default")
    headless = sts["spec"]["serviceName"]
    nodes = [f"{sts['metadata']['name']}-{i}" for i in range(sts["spec"]["replicas"])]
    ports = {p.get("name"): int(p["containerPort"]) for p in container.get("ports", [])}
    client = ports.get("client", 4222)
    routes = ports.get("cluster", 6222)
    selected = [
        s for s in dc._by_kind(objects, "Service").values()
        if dc._selects(s["spec"].get("selector", {}), sts["spec"]["template"]["metadata"]["labels"])
    ]  # fmt: skip
    names: list[set[tuple[str, int]]] = []
    for node in nodes:
        mine = {(h, routes) for h in _service_names(f"{node}.{headless}", namespace)}
        mine |= {(h, client) for h in _service_names(f"{node}.{headless}", namespace)}
        for service in selected:
            for port in service["spec"]["ports"]:
                target = port.get("targetPort", port["port"])
                target = ports.get(target, target) if isinstance(target, str) else target
                if target == client:  # a Service reaches every node: any will do
                    mine |= {
                        (h, int(port["port"]))
                        for h in _service_names(service["metadata"]["name"], namespace)
                    }
        names.append(mine)
    env = _env(dc._name(sts), container, found)
    probe = next(iter(_probe_paths(container)), None)
    includes = {k: v for k, v in files.items() if k != conf_name}
    return Nats(files[conf_name], includes, env, nodes, names, probe)


# ---- compose -----------------------------------------------------------------------------------


def compose(doc: Obj, env_file: Mapping[str, str]) -> Spec:
    errors: list[str] = []
    doc = dc.interpolate(doc, env_file, errors)
    if errors:
        raise ValueError("; ".join(errors))
    processes: dict[str, Process] = {}
    nats: Nats | None = None
    otlp: set[tuple[str, int]] = set()
    postgres: Postgres | None = None
    for name, service in doc["services"].items():
        if service.get("profiles"):
            continue  # not started by a plain `docker compose up`
        env = {k: v or "" for k, v in dc._compose_env(service).items()}
        argv = dc._command_list(service.get("command")) or []
        image = service.get("image", "")
        if dc._is_hulei_image(image):
            test = (service.get("healthcheck") or {}).get("test") or []
            paths = re.findall(r"https?://[^/'\"]+(/[^'\" ]*)", " ".join(map(str, test)))
            ports = re.findall(r"https?://[^:/'\"]+:(\d+)", " ".join(map(str, test)))
            mounts = {}
            for volume in service.get("volumes", []):
                if isinstance(volume, str):  # short syntax; the long one is not used here
                    local, _, inside = volume.partition(":")
                    mounts[inside.partition(":")[0]] = {"": local}
            processes[name] = Process(
                name=name,
                argv=argv,
                env=env,
                port=int(ports[0]) if ports else None,
                probes=paths,
                job=bool((service.get("healthcheck") or {}).get("disable")),
                mounts=mounts,
            )
        elif image.startswith("nats:"):
            nats = _compose_nats(name, service, env)
        elif image.startswith("postgres:"):
            postgres = _compose_postgres(name, service, env)
        elif "jaeger" in image or "otel" in image:
            otlp.add((name, 4318))
    if nats is None:
        raise LookupError("no NATS service in compose")
    return Spec(
        source="compose",
        processes=processes,
        nats=nats,
        stores={
            n: v for n, p in processes.items() for k, v in p.env.items() if k.endswith("_STORE_URL")
        },
        otlp=otlp,
        postgres=postgres,
        services={(n, p.port): (n, p.port) for n, p in processes.items() if p.port},
    )


def _compose_postgres(name: str, service: Obj, env: dict[str, str]) -> Postgres:
    """The image runs /docker-entrypoint-initdb.d/*.sql with psql, as the superuser, in order."""
    scripts = []
    for volume in sorted(v for v in service.get("volumes", []) if isinstance(v, str)):
        local, _, inside = volume.partition(":")
        if "/docker-entrypoint-initdb.d/" in inside and local.endswith(".sql"):
            scripts.append(("postgres", (dc.COMPOSE_FILE.parent / local).read_text()))
    return Postgres({(name, 5432)}, scripts, env)


def _compose_nats(name: str, service: Obj, env: dict[str, str]) -> Nats:
    files = {}
    for volume in service.get("volumes", []):
        local, _, inside = str(volume).partition(":")
        if local.endswith(".conf"):
            files[inside.partition(":")[0]] = (dc.COMPOSE_FILE.parent / local).read_text()
    argv = dc._command_list(service.get("command")) or []
    conf = next(a for a in argv if a.endswith(".conf"))
    includes = {path.rpartition("/")[2]: text for path, text in files.items() if path != conf}
    test = " ".join(map(str, (service.get("healthcheck") or {}).get("test") or []))
    probe = next(iter(re.findall(r"https?://[^/'\"]+(/[^'\" ]*)", test)), None)
    return Nats(files[conf], includes, env, [name], [{(name, 4222)}], probe)


# ---- pointing the names at local ports ---------------------------------------------------------

_URL = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.-]*://)(?P<auth>[^@/\s]*@)?(?P<host>[A-Za-z0-9_.-]+):(?P<port>\d+)"
)


def rewrite(value: str, local: Mapping[tuple[str, int], int]) -> str:
    """Every `scheme://[user@]host:port` whose (host, port) the platform serves → 127.0.0.1 and
    its local port. An unknown name or port is left as it is: it will not connect."""

    def swap(m: re.Match[str]) -> str:
        target = local.get((m["host"], int(m["port"])))
        if target is None:
            return m[0]
        return f"{m['scheme']}{m['auth'] or ''}127.0.0.1:{target}"

    return _URL.sub(swap, value)


def urls(value: str) -> Iterator[re.Match[str]]:
    return _URL.finditer(value)
