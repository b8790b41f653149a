"""Static checks of the deployment files: the Dockerfile, docker compose, the Kubernetes overlays
and the Grafana dashboard, without a Docker engine or a cluster.

Each check is a small function that returns a list of problems (empty = fine), so the tests can
run it on the real files and on deliberately broken copies, proving that it can fail.
"""

from __future__ import annotations

import ast
import base64
import importlib
import importlib.util
import json
import math
import re
import shlex
import shutil
import subprocess
import typing
from collections.abc import Collection, Iterator, Mapping
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import yaml
from pydantic import ValidationError
from pydantic_settings import BaseSettings

from shared.identity import generate_keypair

REPO = Path(__file__).resolve().parents[1]
DEPLOY = REPO / "deploy"
DOCKERFILE = DEPLOY / "docker" / "Dockerfile"
COMPOSE_FILE = DEPLOY / "compose" / "docker-compose.yml"
COMPOSE_ENV_EXAMPLE = DEPLOY / "compose" / ".env.example"
COMPOSE_NATS_CONF = DEPLOY / "compose" / "nats.conf"
COMPOSE_NATS_ACCOUNTS = DEPLOY / "compose" / "nats-accounts.conf"
COMPOSE_SCHEMA = DEPLOY / "schemas" / "compose-spec.json"
K8S = DEPLOY / "k8s"
OVERLAYS = ("dev", "prod", "dev-mongo")
EXTERNAL_SECRETS = K8S / "overlays" / "prod" / "external-secrets.yaml"
DASHBOARD = K8S / "base" / "monitoring" / "hulei-dashboard.json"

# Recent and widely run; kubernetes-validate ships schemas up to its own version.
K8S_VERSION = "1.33"

# What the image is called before an overlay or compose renames it: a container whose image
# repository ends in this name runs Hulei code and gets the Hulei checks.
IMAGE_NAME = "hulei"

# Standard OpenTelemetry SDK variables a process may be given besides its own settings.
OTEL_ENV = frozenset(
    {
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
        "OTEL_EXPORTER_OTLP_HEADERS",
        "OTEL_EXPORTER_OTLP_TIMEOUT",
        "OTEL_SERVICE_NAME",
        "OTEL_RESOURCE_ATTRIBUTES",
        "OTEL_TRACES_SAMPLER",
        "OTEL_TRACES_SAMPLER_ARG",
    }
)

# The Prometheus metrics the processes export; keep in step with the code that defines them.
METRICS = frozenset(
    {
        "hulei_http_requests_total",
        "hulei_http_request_duration_seconds",
        "hulei_events_published_total",
        "hulei_events_consumed_total",
        "hulei_redeliveries_total",
        "hulei_consumer_pending",
        "hulei_dead_letters",
        "hulei_outbox_pending",
        "hulei_open_urgent_tasks",
        "hulei_overdue_tasks",
        "hulei_timers_late",
        "hulei_store_commits_total",
        "hulei_units_of_work_committed_total",
    }
)
HISTOGRAMS = frozenset({"hulei_http_request_duration_seconds"})

POD_KINDS = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "CronJob", "Pod"}
)
PROBES = ("startupProbe", "readinessProbe", "livenessProbe")

Obj = dict[str, Any]


# ---- loading ----------------------------------------------------------------------------------


def kubectl() -> str | None:
    return shutil.which("kubectl")


def require_tool(name: str, *, apt_package: str, find: Any = shutil.which) -> str | None:
    """The tool's path. Missing in CI (CI=true): installed with apt-get (this machine kind lists
    it among its packages), and a failure names it; outside CI: None, the caller skips."""
    import os

    found = find(name)
    if found or os.environ.get("CI") != "true":
        return str(found) if found else None
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", apt_package]):
        subprocess.run(command, capture_output=True, timeout=600, check=False)
    found = find(name)
    if not found:
        raise RuntimeError(f"CI needs {name} (apt package {apt_package}) and could not install it")
    return str(found)


def render_overlay(overlay: str, root: Path = K8S) -> list[Obj]:
    """`kubectl kustomize` of one overlay (of `root`, a copy of deploy/k8s), as objects."""
    binary = kubectl()
    if binary is None:
        raise FileNotFoundError("kubectl")
    result = subprocess.run(
        [binary, "kustomize", str(root / "overlays" / overlay)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    if result.returncode != 0:
        raise RuntimeError(f"kustomize {overlay} failed: {result.stderr.strip()}")
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load_compose() -> Obj:
    loaded: Obj = yaml.safe_load(COMPOSE_FILE.read_text())
    return loaded


def load_external_secrets() -> dict[str, set[str]]:
    """The Secrets the prod overlay expects to exist, with their required keys."""
    listed = yaml.safe_load(EXTERNAL_SECRETS.read_text())["secrets"]
    return {name: set(keys) for name, keys in listed.items()}


def read_env_file(path: Path) -> dict[str, str]:
    values = {}
    for line in path.read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


# ---- processes, modules and settings ----------------------------------------------------------


def python_module(command: list[str] | None) -> str | None:
    """`python -m X …` → X; anything else → None."""
    if not command or Path(command[0]).name not in {"python", "python3"}:
        return None
    if len(command) >= 3 and command[1] == "-m":
        return command[2]
    return None


def module_errors(where: str, command: list[str] | None) -> list[str]:
    """The command must be `python -m X` with X importable and runnable as a module."""
    module = python_module(command)
    if module is None:
        return [f"{where}: command {command!r} is not `python -m <module>`"]
    try:
        spec = importlib.util.find_spec(module)
    except ModuleNotFoundError:
        spec = None
    if spec is None:
        return [f"{where}: module {module!r} does not exist"]
    is_package = spec.submodule_search_locations is not None
    if is_package and importlib.util.find_spec(f"{module}.__main__") is None:
        return [f"{where}: package {module!r} has no __main__.py"]
    return []


def settings_class(module: str) -> type[BaseSettings] | None:
    """The Settings class a process module reads (gateway, services.<name>), if it has one."""
    try:
        settings_module = importlib.import_module(f"{module}.settings")
    except ModuleNotFoundError:
        return None
    cls = getattr(settings_module, "Settings", None)
    return cls if isinstance(cls, type) and issubclass(cls, BaseSettings) else None


def env_prefix(cls: type[BaseSettings]) -> str:
    return str(cls.model_config.get("env_prefix", "")).upper()


def all_settings_classes() -> dict[str, type[BaseSettings]]:
    """Every process's Settings, keyed by its module (gateway, services.<name>)."""
    modules = ["gateway"] + [
        f"services.{path.name}"
        for path in sorted((REPO / "services").iterdir())
        if (path / "settings.py").exists()
    ]
    return {m: cls for m in modules if (cls := settings_class(m)) is not None}


def module_env_names(module: str) -> set[str]:
    """Environment variables a settings-less module reads: os.environ.get("X") / environ["X"]."""
    spec = importlib.util.find_spec(module)
    if spec is None or spec.origin is None:
        return set()
    names = set()
    for node in ast.walk(ast.parse(Path(spec.origin).read_text())):
        # os.environ.get("X", …), os.getenv("X"), os.environ["X"]
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and (
                (node.func.attr == "get" and _is_environ(node.func.value))
                or (node.func.attr == "getenv")
            )
            and node.args
            and isinstance(node.args[0], ast.Constant)
        ):
            names.add(str(node.args[0].value))
        if (
            isinstance(node, ast.Subscript)
            and _is_environ(node.value)
            and isinstance(node.slice, ast.Constant)
        ):
            names.add(str(node.slice.value))
    return names


def _is_environ(node: ast.expr) -> bool:
    return (isinstance(node, ast.Attribute) and node.attr == "environ") or (
        isinstance(node, ast.Name) and node.id == "environ"
    )


def _coerce(cls: type[BaseSettings], field: str, value: str) -> object:
    """Complex fields (lists, dicts) arrive as JSON in the environment, as pydantic-settings reads
    them; scalars are passed as strings and validated by the model."""
    annotation = cls.model_fields[field].annotation
    if typing.get_origin(annotation) in {list, dict, set, tuple, frozenset}:
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def settings_env_errors(
    where: str,
    module: str,
    env: Mapping[str, str | None],
    helpers: Collection[str] = frozenset(),
    *,
    validate: bool = True,
) -> list[str]:
    """Every variable a process gets must be one it reads, and (with `validate`, for a complete
    environment) the values must make valid settings.

    `env` maps names to values (None when the value is not known statically). `helpers` are
    variables that only exist to be substituted into others (Kubernetes `$(NAME)`).
    """
    cls = settings_class(module)
    errors = []
    if cls is None:
        allowed = module_env_names(module)
        for name in env:
            if name not in allowed and name not in OTEL_ENV and name not in helpers:
                errors.append(f"{where}: {name} is not read by {module} (reads {sorted(allowed)})")
        return errors
    prefix = env_prefix(cls)
    fields = {prefix + name.upper(): name for name in cls.model_fields}
    values: dict[str, object] = {}
    for name, value in env.items():
        if name in fields:
            if value is not None:
                values[fields[name]] = _coerce(cls, fields[name], value)
        elif name.startswith("HULEI_"):
            errors.append(
                f"{where}: {name} is not a setting of {module} "
                f"({cls.__module__}.Settings, prefix {prefix})"
            )
        elif name not in OTEL_ENV and name not in helpers:
            errors.append(f"{where}: {name} is not read by {module}")
    if validate and not errors:
        try:
            cls.model_validate(values)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in exc.errors()
            )
            errors.append(f"{where}: settings of {module} do not validate: {problems}")
    return errors


def effective_port(module: str, env: Mapping[str, str | None]) -> int | None:
    """The port a Hulei process will listen on, from its env or its Settings default."""
    cls = settings_class(module)
    if cls is None or "port" not in cls.model_fields:
        return None
    value = env.get(env_prefix(cls) + "PORT")
    if value is not None:
        try:
            return int(value)
        except ValueError:
            return None
    default = cls.model_fields["port"].default
    return int(default) if isinstance(default, int) else None


# ---- Dockerfile -------------------------------------------------------------------------------


def parse_dockerfile(text: str) -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs, continuation lines joined and comments dropped."""
    instructions: list[tuple[str, str]] = []
    current = ""
    for raw in text.splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.endswith("\\"):
            current += line[:-1] + " "
            continue
        current += line
        keyword, _, rest = current.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
        current = ""
    return instructions


def _final_stage(instructions: list[tuple[str, str]]) -> list[tuple[str, str]]:
    starts = [i for i, (keyword, _) in enumerate(instructions) if keyword == "FROM"]
    return instructions[starts[-1] :] if starts else instructions


def lock_errors(pyproject: str, lock: str) -> list[str]:
    """Every runtime dependency of pyproject.toml is pinned (==) in the lock with its hashes."""
    import tomllib

    def norm(name: str) -> str:
        return re.sub(r"[-_.]+", "-", name).lower()

    entries = {}
    for block in re.split(r"\n(?=[A-Za-z0-9])", lock):
        match = re.match(r"([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)", block)
        if match:
            entries[norm(match.group(1))] = block
    errors = []
    for requirement in tomllib.loads(pyproject)["project"]["dependencies"]:
        name = norm(re.split(r"[\[<>=!~;\s]", requirement, maxsplit=1)[0])
        if name not in entries:
            errors.append(f"requirements.lock: {name} (pyproject.toml) is not locked")
    for name, block in entries.items():
        if "--hash=sha256:" not in block:
            errors.append(f"requirements.lock: {name} has no hash")
    return errors


def _dockerfile_env(args: str) -> dict[str, str]:
    return dict(pair.split("=", 1) for pair in shlex.split(args) if "=" in pair)


def dockerfile_errors(text: str) -> list[str]:
    """Multi-stage, pinned base, non-root, a healthcheck, no dev extras, a runnable CMD, and
    HULEI_* variables that exist."""
    instructions = parse_dockerfile(text)
    errors = []
    args = {}
    for keyword, rest in instructions:
        if keyword == "ARG" and "=" in rest:
            name, _, value = rest.partition("=")
            args[name.strip()] = value.strip()
    stages = [rest.split() for keyword, rest in instructions if keyword == "FROM"]
    stage_names = {words[2] for words in stages if len(words) == 3 and words[1].upper() == "AS"}
    if len(stages) < 2:
        errors.append("Dockerfile: not multi-stage (fewer than two FROM)")
    for words in stages:
        image = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), words[0])
        if image in stage_names:
            continue
        name = image.split("@")[0].rsplit("/", 1)[-1]
        tag = name.partition(":")[2]
        if not tag or tag == "latest" or "$" in image:
            errors.append(f"Dockerfile: base image {image!r} is not pinned to a tag")
        if not re.search(r"@sha256:[0-9a-f]{64}$", image):
            errors.append(f"Dockerfile: base image {image!r} is not pinned by digest")
    users = [rest for keyword, rest in instructions if keyword == "USER"]
    if not users or users[-1].split(":")[0] in {"root", "0"}:
        errors.append("Dockerfile: the final stage does not switch to a non-root USER")
    if not any(keyword == "HEALTHCHECK" for keyword, _ in instructions):
        errors.append("Dockerfile: no HEALTHCHECK")
    runs = " ".join(rest for keyword, rest in instructions if keyword == "RUN")
    if re.search(r"pip\b[^&;]*\binstall\b[^&;]*\.\[", runs):
        errors.append("Dockerfile: installs an extra (e.g. .[dev]) into the image")
    installs = re.findall(r"pip\b[^&;]*\binstall\b[^&;]*", runs)
    for install in installs:
        if "--require-hashes" not in install or "requirements.lock" not in install:
            errors.append(f"Dockerfile: {install.strip()!r} is not from the hashed lock file")
    if "nats-server" in runs:
        errors.append("Dockerfile: puts a nats-server binary in the image")
    final = _final_stage(instructions)
    final_runs = " ".join(rest for keyword, rest in final if keyword == "RUN")
    for tool in ("site-packages/pip ", "site-packages/setuptools ", "/usr/local/bin/pip "):
        if tool not in final_runs + " ":
            errors.append(f"Dockerfile: the runtime stage keeps {tool.strip()}")
    checks = [rest for keyword, rest in final if keyword == "HEALTHCHECK"]
    if checks and "deploy.healthcheck" not in checks[-1]:
        errors.append("Dockerfile: the HEALTHCHECK is not deploy.healthcheck (one port only)")
    cmds = [rest for keyword, rest in instructions if keyword == "CMD"]
    if not cmds:
        errors.append("Dockerfile: no CMD")
    else:
        cmd = cmds[-1]
        errors += module_errors(
            "Dockerfile CMD", json.loads(cmd) if cmd.startswith("[") else shlex.split(cmd)
        )
    prefixes = {env_prefix(cls): module for module, cls in all_settings_classes().items()}
    for keyword, rest in instructions:
        if keyword != "ENV":
            continue
        for name, value in _dockerfile_env(rest).items():
            if not name.startswith("HULEI_"):
                continue
            owner = next((m for p, m in prefixes.items() if name.startswith(p)), None)
            if owner is None:
                errors.append(f"Dockerfile: ENV {name} has no process's prefix")
            else:
                errors += settings_env_errors(
                    "Dockerfile ENV", owner, {name: value}, validate=False
                )
    return errors


# ---- docker compose ---------------------------------------------------------------------------

_INTERPOLATION = re.compile(r"\$(?:\$|\{(?P<braced>[^}]*)\}|(?P<bare>[A-Za-z_][A-Za-z0-9_]*))")


def _variable(expression: str) -> tuple[str, str, str]:
    """`NAME:-default` → (NAME, ":-", "default"); the operator is one of "", -, :-, ?, :?."""
    match = re.fullmatch(r"(\w*)(:?[-?]?)(.*)", expression, re.DOTALL)
    assert match is not None  # every group may be empty: the pattern matches any string
    return match.group(1), match.group(2), match.group(3)


def interpolate(value: Any, env: Mapping[str, str], errors: list[str]) -> Any:
    """Compose variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default},
    ${VAR:?message}, ${VAR?message}, and $$ for a literal dollar."""
    if isinstance(value, dict):
        return {k: interpolate(v, env, errors) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env, errors) for v in value]
    if not isinstance(value, str):
        return value

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        expression = match.group("braced") or match.group("bare")
        name, operator, argument = _variable(expression)
        current = env.get(name)
        missing = current is None or (operator.startswith(":") and current == "")
        if operator.endswith("-") and missing:
            return str(argument)
        if operator.endswith("?") and missing:
            errors.append(f"compose: required variable {name} is unset ({argument})")
            return ""
        return current or ""

    return _INTERPOLATION.sub(replace, value)


def compose_variable_errors(compose_text: str, env_file: Mapping[str, str]) -> list[str]:
    """Every variable compose interpolates without a default is in the example env file, and
    every entry of the example is used (COMPOSE_* entries configure compose itself)."""
    code = "\n".join(
        line.split(" #")[0]
        for line in compose_text.splitlines()
        if not line.lstrip().startswith("#")
    )
    errors = []
    used = set()
    for match in _INTERPOLATION.finditer(code):
        expression = match.group("braced") or match.group("bare")
        if not expression:
            continue
        name, operator, _ = _variable(expression)
        used.add(name)
        if not operator.endswith("-") and name not in env_file:
            errors.append(f"compose: ${{{name}}} is neither defaulted nor in .env.example")
    for name in env_file:
        if name not in used and not name.startswith("COMPOSE_"):
            errors.append(f".env.example: {name} is not used by the compose file")
    return errors


def pii_key_errors(where: str, value: str) -> list[str]:
    """PII_KEY must be base64 of exactly 32 bytes (AES-256-GCM key material)."""
    try:
        raw = base64.b64decode(value, validate=True)
    except ValueError:
        return [f"{where}: PII key is not base64"]
    return [] if len(raw) == 32 else [f"{where}: PII key is {len(raw)} bytes, not 32"]


def compose_schema_errors(compose: Obj) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    # The schema declares draft 2019-09 (with a non-canonical URI jsonschema does not map).
    validator = jsonschema.Draft201909Validator(schema)
    return [
        f"compose schema: {error.json_path}: {error.message}"
        for error in validator.iter_errors(compose)
    ]


def _compose_env(service: Obj) -> dict[str, str | None]:
    environment = service.get("environment") or {}
    if isinstance(environment, list):
        pairs = (item.partition("=") for item in environment)
        return {k: (v if sep else None) for k, sep, v in pairs}
    return {k: (None if v is None else str(v)) for k, v in environment.items()}


def _is_hulei_image(image: str | None) -> bool:
    if not image:
        return False
    repository = image.split("@")[0]
    last = repository.rsplit("/", 1)[-1]
    return last.split(":")[0] == IMAGE_NAME


def _healthcheck_enabled(service: Obj) -> bool:
    check = service.get("healthcheck") or {}
    return bool(check) and not check.get("disable") and bool(check.get("test"))


def _command_list(command: Any) -> list[str] | None:
    if command is None:
        return None
    return shlex.split(command) if isinstance(command, str) else [str(c) for c in command]


def compose_errors(compose: Obj, env_file: Mapping[str, str]) -> list[str]:
    """depends_on and healthchecks consistent; Hulei services run real modules with real
    settings; URLs between services name services that exist; each dials NATS as itself."""
    from tests.nats_deploy import compose_nats_errors

    errors: list[str] = compose_nats_errors(
        compose
    )  # before interpolation: which secret feeds what
    compose = interpolate(compose, env_file, errors)
    services: dict[str, Obj] = compose.get("services", {})
    volumes = set((compose.get("volumes") or {}).keys())
    ports: dict[str, int] = {}
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {target: {"condition": "service_started"} for target in depends}
        for target, spec in depends.items():
            condition = (spec or {}).get("condition", "service_started")
            if target not in services:
                errors.append(f"compose: {name} depends on unknown service {target}")
                continue
            if condition == "service_healthy" and not _healthcheck_enabled(services[target]):
                errors.append(
                    f"compose: {name} waits for {target} to be healthy, "
                    f"but {target} has no healthcheck"
                )
            if condition == "service_completed_successfully" and services[target].get(
                "restart", "no"
            ) not in {"no", "on-failure"}:
                errors.append(
                    f"compose: {name} waits for {target} to complete, but {target} restarts"
                )
        long_running = str(service.get("restart", "no")) not in {"no", "on-failure"}
        if long_running and not _healthcheck_enabled(service):
            errors.append(f"compose: {name} runs continuously without a healthcheck")
        for volume in service.get("volumes") or []:
            source = volume.split(":")[0] if isinstance(volume, str) else volume.get("source")
            if source and not source.startswith((".", "/", "~")) and source not in volumes:
                errors.append(f"compose: {name} mounts undeclared volume {source}")
        if not _is_hulei_image(service.get("image")) and "build" not in service:
            continue
        command = _command_list(service.get("command"))
        where = f"compose service {name}"
        errors += module_errors(where, command)
        module = python_module(command)
        if module is None or importlib.util.find_spec(module) is None:
            continue
        env = _compose_env(service)
        errors += settings_env_errors(where, module, env)
        port = effective_port(module, env)
        if port is not None:
            ports[name] = port
            if _healthcheck_enabled(service):
                test = " ".join(_command_list(service["healthcheck"]["test"]) or [])
                if f":{port}/" not in test:
                    errors.append(f"compose: {name} listens on {port}, its healthcheck does not")
    for name, service in services.items():
        env = _compose_env(service)
        command = _command_list(service.get("command")) or []
        urls = [v for k, v in env.items() if v and k.endswith(("_URL", "_ENDPOINT"))]
        urls += [command[i + 1] for i, arg in enumerate(command[:-1]) if arg.endswith("-url")]
        for value in urls:
            for host, port in url_hosts(value):
                if host in {"localhost", "127.0.0.1"}:
                    continue
                if host not in services:
                    errors.append(f"compose: {name} points at unknown service {host!r} ({value})")
                elif host in ports and port not in {None, ports[host]}:
                    errors.append(
                        f"compose: {name} calls {host} on {port}, it listens on {ports[host]}"
                    )
    return errors


def url_hosts(value: str) -> list[tuple[str, int | None]]:
    """(host, port) of every server in a URL or list of URLs: `nats://a:4222,nats://b:4222`,
    `mongodb://user:pw@m0:27017,m1:27017/db?replicaSet=rs0`, `http://svc:8101`."""
    hosts = []
    for piece in value.split(","):
        piece = re.sub(r"^[a-zA-Z][a-zA-Z0-9+.-]*://", "", piece.strip())
        # Up to the path, after the credentials (documented as URL-safe: no '/' or '@').
        authority = re.split(r"[/?#]", piece, maxsplit=1)[0].rpartition("@")[2]
        host, _, port = authority.partition(":")
        hosts.append((host, int(port) if port.isdigit() else None))
    return hosts


# ---- Kubernetes -------------------------------------------------------------------------------


CERT_MANAGER = "cert-manager.io/v1"
# What a cert-manager Certificate's Secret holds.
CERTIFICATE_KEYS = ("tls.crt", "tls.key", "ca.crt")


def k8s_schema_errors(objects: list[Obj], version: str = K8S_VERSION) -> list[str]:
    errors = []
    for obj in objects:
        if obj.get("apiVersion") == CERT_MANAGER:
            errors += cert_manager_errors(obj, objects)
            continue
        if (obj.get("apiVersion"), obj.get("kind")) in CRD_SCHEMAS:
            errors += crd_schema_errors(obj)
            continue
        try:
            kubernetes_validate.validate(obj, version, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = "/".join(map(str, exc.path))
            errors.append(f"{_name(obj)}: {path}: {exc.message}")
        except kubernetes_validate.SchemaNotFoundError as exc:
            errors.append(f"{_name(obj)}: no schema ({exc})")
    return errors


def cert_manager_errors(obj: Obj, objects: list[Obj]) -> list[str]:
    """No schema ships for cert-manager's kinds: the fields Hulei uses, and that they connect."""
    where, spec = _name(obj), obj.get("spec", {})
    issuers = _by_kind(objects, "Issuer")
    if obj["kind"] == "Issuer":
        kinds = {"selfSigned", "ca"} & set(spec)
        if len(kinds) != 1 or set(spec) - kinds:
            return [f"{where}: spec must be exactly one of selfSigned, ca (got {sorted(spec)})"]
        ca = spec.get("ca")
        certs = {c["spec"].get("secretName"): c for c in _by_kind(objects, "Certificate").values()}
        if ca is not None and not certs.get(ca.get("secretName"), {}).get("spec", {}).get("isCA"):
            return [f"{where}: ca.secretName {ca.get('secretName')!r} is no CA Certificate's"]
        return []
    if obj["kind"] != "Certificate":
        return [f"{where}: unexpected cert-manager kind"]
    known = {"secretName", "isCA", "commonName", "dnsNames", "duration", "renewBefore"}
    known |= {"usages", "privateKey", "issuerRef"}
    errors = [f"{where}: unknown field spec.{k}" for k in sorted(set(spec) - known)]
    ref = spec.get("issuerRef", {})
    if ref.get("kind") != "Issuer" or ref.get("name") not in issuers:
        errors.append(f"{where}: issuerRef {ref} names no Issuer in the render")
    if not spec.get("secretName"):
        errors.append(f"{where}: no secretName")
    if not spec.get("isCA") and not spec.get("dnsNames"):
        errors.append(f"{where}: a server certificate without dnsNames")
    return errors


def _name(obj: Obj) -> str:
    return f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}"


def pod_specs(objects: list[Obj]) -> Iterator[tuple[Obj, Obj, dict[str, str]]]:
    """(object, pod spec, pod labels) for everything that runs pods."""
    for obj in objects:
        kind = obj.get("kind")
        if kind not in POD_KINDS:
            continue
        if kind == "Pod":
            yield obj, obj["spec"], obj["metadata"].get("labels", {})
            continue
        if kind == "CronJob":
            template = obj["spec"]["jobTemplate"]["spec"]["template"]
        else:
            template = obj["spec"]["template"]
        yield obj, template["spec"], template.get("metadata", {}).get("labels", {})


def _containers(spec: Obj) -> list[Obj]:
    return [*spec.get("initContainers", []), *spec.get("containers", [])]


def _by_kind(objects: list[Obj], kind: str) -> dict[str, Obj]:
    return {o["metadata"]["name"]: o for o in objects if o.get("kind") == kind}


def _configmap_data(cm: Obj) -> dict[str, str]:
    return {**cm.get("data", {}), **dict.fromkeys(cm.get("binaryData", {}), "")}


def _secret_data(secret: Obj) -> dict[str, str | None]:
    data: dict[str, str | None] = {
        k: base64.b64decode(v).decode(errors="replace") for k, v in secret.get("data", {}).items()
    }
    data.update(secret.get("stringData", {}))
    return data


class Sources:
    """The ConfigMaps and Secrets a render provides, plus Secrets documented as external."""

    def __init__(self, objects: list[Obj], external: Mapping[str, set[str]]) -> None:
        self.configmaps = {n: _configmap_data(o) for n, o in _by_kind(objects, "ConfigMap").items()}
        self.secrets = {n: _secret_data(o) for n, o in _by_kind(objects, "Secret").items()}
        # Secrets cert-manager will write for the Certificates in the render.
        for cert in _by_kind(objects, "Certificate").values():
            self.secrets[cert["spec"]["secretName"]] = dict.fromkeys(CERTIFICATE_KEYS)
        # External Secrets: keys known, values not (None).
        self.external = {n: dict.fromkeys(keys) for n, keys in external.items()}

    def lookup(self, kind: str, name: str) -> Mapping[str, str | None] | None:
        if kind == "configMap":
            return self.configmaps.get(name)
        return self.secrets.get(name, self.external.get(name))


_QUANTITY_UNITS = {"Ki": 2**10, "Mi": 2**20, "Gi": 2**30, "Ti": 2**40, "m": 0.001}
_QUANTITY_UNITS |= {"k": 10**3, "M": 10**6, "G": 10**9, "T": 10**12}


def _quantity(text: str | int) -> float:
    number, unit = re.fullmatch(r"([0-9.]+)([A-Za-z]*)", str(text)).groups()  # type: ignore[union-attr]
    return float(number) * _QUANTITY_UNITS.get(unit, 1)


def _resource_field(container: Obj, ref: Obj) -> str | None:
    """What Kubernetes puts in a resourceFieldRef variable (e.g. GOMEMLIMIT from limits.memory):
    known from the manifest, so the local runs get the real value; None when not set here."""
    if ref.get("containerName", container["name"]) != container["name"]:
        return None
    kind, _, resource = ref["resource"].partition(".")
    quantity = container.get("resources", {}).get(kind, {}).get(resource)
    if quantity is None:
        return None
    return str(math.ceil(_quantity(quantity) / _quantity(ref.get("divisor", "1"))))


def container_env(
    where: str, container: Obj, sources: Sources
) -> tuple[dict[str, str | None], list[str]]:
    """The container's environment (None = value only known at run time) and the references
    that point at missing ConfigMaps, Secrets or keys."""
    env: dict[str, str | None] = {}
    errors = []
    for source in container.get("envFrom", []):
        for kind, ref in (("configMap", "configMapRef"), ("secret", "secretRef")):
            if ref not in source:
                continue
            name = source[ref]["name"]
            data = sources.lookup(kind, name)
            if data is None:
                if not source[ref].get("optional"):
                    errors.append(f"{where}: envFrom {kind} {name} does not exist")
                continue
            for key, value in data.items():
                env[source.get("prefix", "") + key] = value
    for var in container.get("env", []):
        value_from = var.get("valueFrom")
        if value_from is None:
            env[var["name"]] = var.get("value", "")
            continue
        for kind, ref in (("configMap", "configMapKeyRef"), ("secret", "secretKeyRef")):
            if ref not in value_from:
                continue
            name, key = value_from[ref]["name"], value_from[ref]["key"]
            data = sources.lookup(kind, name)
            if data is None or key not in data:
                if not value_from[ref].get("optional"):
                    what = f"{kind} {name}" if data is None else f"key {key!r} in {kind} {name}"
                    errors.append(f"{where}: env {var['name']} refers to missing {what}")
                env[var["name"]] = None
            else:
                env[var["name"]] = data[key]
        if "fieldRef" in value_from:
            env[var["name"]] = None
        if "resourceFieldRef" in value_from:
            env[var["name"]] = _resource_field(container, value_from["resourceFieldRef"])
    # Kubernetes dependent variables: $(NAME) expands to an earlier variable.
    for name, value in env.items():
        if value is not None and "$(" in value:

            def expand(m: re.Match[str]) -> str:
                got = env.get(m.group(1))
                return m.group(0) if got is None else got

            env[name] = re.sub(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", expand, value)
    return env, errors


def _helpers(container: Obj) -> set[str]:
    """Variables referenced as $(NAME) by other variables of the same container."""
    found = set()
    for var in container.get("env", []):
        found.update(re.findall(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)", var.get("value", "")))
    return found


def reference_errors(objects: list[Obj], sources: Sources) -> list[str]:
    """Every ConfigMap/Secret (and key) a pod, volume or Ingress names must exist."""
    errors = []
    for obj, spec, _labels in pod_specs(objects):
        for container in _containers(spec):
            where = f"{_name(obj)} container {container['name']}"
            errors += container_env(where, container, sources)[1]
        for volume in spec.get("volumes", []):
            for kind, field, name_key in (
                ("configMap", "configMap", "name"),
                ("secret", "secret", "secretName"),
            ):
                if field not in volume:
                    continue
                name = volume[field][name_key]
                data = sources.lookup(kind, name)
                if data is None:
                    if not volume[field].get("optional"):
                        errors.append(f"{_name(obj)}: volume {volume['name']}: no {kind} {name}")
                    continue
                for item in volume[field].get("items", []):
                    if item["key"] not in data:
                        errors.append(
                            f"{_name(obj)}: volume {volume['name']}: no key {item['key']!r} "
                            f"in {kind} {name}"
                        )
    for ingress in _by_kind(objects, "Ingress").values():
        for tls in ingress["spec"].get("tls", []):
            if sources.lookup("secret", tls["secretName"]) is None:
                errors.append(f"{_name(ingress)}: TLS secret {tls['secretName']} does not exist")
    return errors


def _selects(selector: Mapping[str, str], labels: Mapping[str, str]) -> bool:
    return bool(selector) and all(labels.get(k) == v for k, v in selector.items())


def _container_port(container: Obj, port: int | str) -> bool:
    for declared in container.get("ports", []):
        if port in (declared.get("name"), declared["containerPort"]):
            return True
    return False


def port_errors(objects: list[Obj]) -> list[str]:
    """Services reach a declared container port of the pods they select; probes and scrape
    annotations use declared ports; every Service and Ingress backend leads somewhere."""
    errors = []
    templates = list(pod_specs(objects))
    services = _by_kind(objects, "Service")
    for name, service in services.items():
        selector = service["spec"].get("selector", {})
        selected = [(o, s) for o, s, labels in templates if _selects(selector, labels)]
        if not selected:
            errors.append(f"Service/{name}: selects no pods ({selector})")
        for port in service["spec"].get("ports", []):
            target = port.get("targetPort", port["port"])
            for obj, spec in selected:
                if not any(_container_port(c, target) for c in spec["containers"]):
                    errors.append(
                        f"Service/{name}: targetPort {target!r} is not a container port "
                        f"of {_name(obj)}"
                    )
    for obj, spec, _labels in templates:
        for container in _containers(spec):
            for probe_name in PROBES:
                probe = container.get(probe_name) or {}
                for handler in ("httpGet", "tcpSocket", "grpc"):
                    if handler in probe and not _container_port(container, probe[handler]["port"]):
                        errors.append(
                            f"{_name(obj)} container {container['name']}: {probe_name} port "
                            f"{probe[handler]['port']!r} is not a container port"
                        )
        annotations = (
            obj["spec"].get("template", {}).get("metadata", {}).get("annotations", {})
            if obj["kind"] != "Pod"
            else obj["metadata"].get("annotations", {})
        )
        scrape = annotations.get("prometheus.io/port")
        if scrape is not None and not any(
            _container_port(c, int(scrape)) for c in spec["containers"]
        ):
            errors.append(f"{_name(obj)}: prometheus.io/port {scrape} is not a container port")
    for ingress in _by_kind(objects, "Ingress").values():
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"]["service"]
                target = services.get(backend["name"])
                if target is None:
                    errors.append(f"{_name(ingress)}: no Service {backend['name']}")
                    continue
                wanted = backend["port"].get("name", backend["port"].get("number"))
                if not any(wanted in (p.get("name"), p["port"]) for p in target["spec"]["ports"]):
                    errors.append(
                        f"{_name(ingress)}: Service {backend['name']} has no port {wanted}"
                    )
    # The pods an operator creates for a CloudNativePG Cluster carry cnpg.io/cluster: <name>.
    pod_labels = [pod for _o, _s, pod in templates]
    pod_labels += [{"cnpg.io/cluster": name} for name in _by_kind(objects, "Cluster")]
    for kind in ("PodDisruptionBudget", "NetworkPolicy"):
        for obj in _by_kind(objects, kind).values():
            selector = obj["spec"].get("selector" if kind != "NetworkPolicy" else "podSelector")
            labels = (selector or {}).get("matchLabels", {})
            if labels and not any(_selects(labels, pod) for pod in pod_labels):
                errors.append(f"{_name(obj)}: selects no pods ({labels})")
    for hpa in _by_kind(objects, "HorizontalPodAutoscaler").values():
        ref = hpa["spec"]["scaleTargetRef"]
        if ref["name"] not in _by_kind(objects, ref["kind"]):
            errors.append(f"{_name(hpa)}: scales missing {ref['kind']}/{ref['name']}")
    return errors


def _service_endpoint_errors(
    where: str, url_value: str, objects: list[Obj], services: dict[str, Obj]
) -> list[str]:
    """A URL must name a Service (or a StatefulSet pod behind its headless Service) and one of
    its ports."""
    errors = []
    statefulsets = _by_kind(objects, "StatefulSet")
    # The Services CloudNativePG creates for a Cluster: <name>-rw, -ro, -r on 5432.
    cnpg = {f"{name}-{role}" for name in _by_kind(objects, "Cluster") for role in ("rw", "ro", "r")}
    for host, port in url_hosts(url_value):
        if not host:
            errors.append(f"{where}: {url_value!r} names no host")
            continue
        if host in cnpg:
            if port not in {None, 5432}:
                errors.append(f"{where}: {host} listens on 5432, not {port}")
            continue
        labels = host.split(".")
        service_name = labels[0]
        if len(labels) >= 2 and labels[1] in services:
            pod, service_name = labels[0], labels[1]
            owner = next(
                (s for s in statefulsets.values() if s["spec"]["serviceName"] == service_name),
                None,
            )
            ordinal = pod.rsplit("-", 1)[-1]
            if (
                owner is None
                or not pod.startswith(owner["metadata"]["name"] + "-")
                or not ordinal.isdigit()
                or int(ordinal) >= owner["spec"].get("replicas", 1)
            ):
                errors.append(f"{where}: no StatefulSet pod {pod} behind {service_name}")
                continue
        elif len(labels) > 1:
            continue  # another namespace or outside the cluster: not ours to check
        service = services.get(service_name)
        if service is None:
            errors.append(f"{where}: no Service {service_name} ({url_value})")
        elif port is not None and port not in [p["port"] for p in service["spec"]["ports"]]:
            errors.append(f"{where}: Service {service_name} has no port {port}")
    return errors


_STAND_IN_KEYS = dict(zip(("_SIGNING_KEY", "_VERIFY_KEY"), generate_keypair(), strict=True))


def _stand_in(name: str) -> str:
    """A value of the right shape for a variable whose value is only known at run time."""
    return next((v for end, v in _STAND_IN_KEYS.items() if name.endswith(end)), "x" * 48)


def hulei_container_errors(objects: list[Obj], sources: Sources) -> list[str]:
    """Containers of the Hulei image: a module that exists, settings that exist and validate,
    the listening port declared, URLs that lead to Services, and each its own NATS identity."""
    from tests.nats_deploy import k8s_nats_errors

    errors = k8s_nats_errors(objects, sources)
    services = _by_kind(objects, "Service")
    for obj, spec, _labels in pod_specs(objects):
        for container in _containers(spec):
            if not _is_hulei_image(container.get("image")):
                continue
            where = f"{_name(obj)} container {container['name']}"
            command = [*container.get("command", []), *container.get("args", [])]
            errors += module_errors(where, command)
            module = python_module(command)
            if module is None or importlib.util.find_spec(module) is None:
                continue
            env, _ = container_env(where, container, sources)
            # Secret values from an external Secret are unknown: validate with a stand-in.
            known = {k: (v if v is not None else _stand_in(k)) for k, v in env.items()}
            errors += settings_env_errors(where, module, known, _helpers(container))
            port = effective_port(module, env)
            if port is not None and not _container_port(container, port):
                errors.append(f"{where}: listens on {port}, which is not a container port")
            if port is not None and settings_class(module) is not None:
                mounts = {m["mountPath"] for m in container.get("volumeMounts", [])}
                if container.get("securityContext", {}).get("readOnlyRootFilesystem") and (
                    "/tmp" not in mounts
                ):
                    errors.append(f"{where}: read-only root filesystem without a /tmp volume")
            urls = [(k, v) for k, v in known.items() if k.endswith(("_URL", "_ENDPOINT"))]
            urls += [(a, command[i + 1]) for i, a in enumerate(command[:-1]) if a.endswith("-url")]
            for key, value in urls:
                errors += _service_endpoint_errors(f"{where} {key}", value, objects, services)
    return errors


def stream_replica_errors(objects: list[Obj], sources: Sources) -> list[str]:
    """The Job's --replicas, every process's STREAM_REPLICAS and the NATS cluster size agree."""
    errors = []
    nats = _by_kind(objects, "StatefulSet").get("nats")
    cluster = nats["spec"].get("replicas", 1) if nats else 1
    seen = {}
    for obj, spec, _labels in pod_specs(objects):
        for container in spec["containers"]:
            if not _is_hulei_image(container.get("image")):
                continue
            command = [*container.get("command", []), *container.get("args", [])]
            where = f"{_name(obj)} container {container['name']}"
            if "--replicas" in command:
                seen[where] = int(command[command.index("--replicas") + 1])
            env, _ = container_env(where, container, sources)
            for name, value in env.items():
                if name.endswith("_STREAM_REPLICAS") and value is not None:
                    seen[f"{where} {name}"] = int(value)
    for where, replicas in seen.items():
        if replicas != cluster:
            errors.append(f"{where}: {replicas} stream replicas on a {cluster}-server NATS cluster")
    return errors


def security_errors(objects: list[Obj]) -> list[str]:
    """Non-root, no privilege escalation, no capabilities, read-only root, resources bounded."""
    errors = []
    for obj, spec, _labels in pod_specs(objects):
        pod_context = spec.get("securityContext", {})
        for container in _containers(spec):
            where = f"{_name(obj)} container {container['name']}"
            context = container.get("securityContext", {})
            if not context.get("runAsNonRoot", pod_context.get("runAsNonRoot")):
                errors.append(f"{where}: not runAsNonRoot")
            if context.get("allowPrivilegeEscalation") is not False:
                errors.append(f"{where}: allowPrivilegeEscalation is not false")
            if "ALL" not in context.get("capabilities", {}).get("drop", []):
                errors.append(f"{where}: capabilities not dropped")
            if context.get("readOnlyRootFilesystem") is not True:
                errors.append(f"{where}: root filesystem is writable")
            resources = container.get("resources", {})
            requests, limits = resources.get("requests", {}), resources.get("limits", {})
            if not {"cpu", "memory"} <= requests.keys() or "memory" not in limits:
                errors.append(f"{where}: needs cpu/memory requests and a memory limit")
    return errors


def secret_literal_errors(objects: list[Obj], external: Mapping[str, set[str]]) -> list[str]:
    """A Secret documented as external must not also be rendered (nothing inlined in prod)."""
    return [
        f"Secret/{name} is rendered, but documented as created outside the overlay"
        for name in _by_kind(objects, "Secret")
        if name in external
    ]


def nats_config_errors(
    text: str, *, env: Mapping[str, str], includes: Mapping[str, str] | None = None
) -> list[str]:
    """`nats-server -t` on a config (staged with its includes and throwaway certificates), plus
    the rules: fsync on every write, TLS for clients and routes, and exactly the accounts that
    shared/nats_auth.py defines."""
    import os
    import tempfile

    from deploy.launcher import nats_server_binary  # the server the tests use
    from shared.nats_auth import accounts_block
    from tests.nats_deploy import stage

    includes = includes or {}
    errors = []
    if not re.search(r"^\s*sync_interval:\s*always\s*$", text, re.MULTILINE):
        errors.append("nats config: jetstream sync_interval is not `always`")
    if not re.search(r"^tls\s*\{", text, re.MULTILINE):
        errors.append("nats config: no tls block for clients")
    cluster = re.search(r"^cluster\s*\{(.*?)^\}", text, re.MULTILINE | re.DOTALL)
    if cluster and not re.search(r"tls\s*\{[^}]*verify:\s*true", cluster.group(1)):
        errors.append("nats config: cluster routes without mutual TLS (tls { verify: true })")
    included = re.findall(r"^include\s+\.?/?(\S+)\s*$", text, re.MULTILINE)
    if not any(includes.get(name) == accounts_block() for name in included):
        errors.append(
            "nats config: includes no accounts file equal to `python -m deploy.nats_config`"
        )
    binary = nats_server_binary()
    if Path(binary).exists():
        with tempfile.TemporaryDirectory() as directory:
            staged = stage(text, includes=includes, directory=Path(directory))
            result = subprocess.run(
                [binary, "-c", str(staged.config), "-t"],
                capture_output=True,
                text=True,
                timeout=30,
                env={**os.environ, **staged.env, **env},
                check=False,
            )
        if result.returncode != 0:
            errors.append(f"nats config: {(result.stderr or result.stdout).strip()}")
    return errors


def _ignored(path: str, patterns: list[str]) -> bool:
    """.dockerignore semantics, enough for our file: the last matching pattern wins; a pattern
    matches the path or any of its parent directories."""
    import fnmatch

    ignored = False
    parts = path.split("/")
    candidates = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        negate = pattern.startswith("!")
        pattern = pattern.lstrip("!").rstrip("/")
        if pattern.startswith("**/"):
            hit = any(fnmatch.fnmatch(c.rsplit("/", 1)[-1], pattern[3:]) for c in candidates)
        else:
            hit = any(fnmatch.fnmatch(c, pattern) for c in candidates)
        if hit:
            ignored = not negate
    return ignored


def dockerignore_errors(dockerignore: str, dockerfile: str) -> list[str]:
    """Everything the Dockerfile copies reaches the build; secrets and local data do not."""
    patterns = [
        line.strip()
        for line in dockerignore.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]
    errors = []
    for keyword, rest in parse_dockerfile(dockerfile):
        if keyword != "COPY" or "--from" in rest:
            continue
        for source in rest.split()[:-1]:
            if source.startswith("--"):
                continue
            if _ignored(source.rstrip("/"), patterns):
                errors.append(f".dockerignore: excludes {source}, which the Dockerfile copies")
    private_files = ("deploy/compose/.env", "deploy/compose/certs/ca.key", "var/gateway.db")
    for private in (*private_files, ".venv/bin/python", ".git/config"):
        if not _ignored(private, patterns):
            errors.append(f".dockerignore: {private} would be sent to the build")
    return errors


# ---- Grafana ----------------------------------------------------------------------------------


def _panels(dashboard: Obj) -> Iterator[Obj]:
    for panel in dashboard.get("panels", []):
        yield panel
        yield from panel.get("panels", [])


def dashboard_errors(dashboard: Obj) -> list[str]:
    """Every series a panel queries is an exported metric, every metric is shown, ids unique."""
    errors = []
    used = set()
    ids = [p.get("id") for p in _panels(dashboard)]
    if len(ids) != len(set(ids)):
        errors.append("dashboard: panel ids are not unique")
    for panel in _panels(dashboard):
        for target in panel.get("targets", []):
            for name in re.findall(r"\b(hulei_[a-z0-9_]+)", target.get("expr", "")):
                base = re.sub(r"_(bucket|count|sum)$", "", name)
                if name in METRICS and name not in HISTOGRAMS:
                    used.add(name)
                elif base in HISTOGRAMS and name != base:
                    used.add(base)
                else:
                    errors.append(f"dashboard panel {panel.get('title')!r}: unknown metric {name}")
    for missing in sorted(METRICS - used):
        errors.append(f"dashboard: metric {missing} is on no panel")
    return errors


# ---- internal-token keys and the public surface -----------------------------------------------

SIGNING_KEY_SECRET = "hulei-gateway-signing-key"
SIGNING_KEY_KEY = "internal-signing-key"
GATEWAY_MODULE = "gateway"


def _gets_signing_key_k8s(container: Obj) -> bool:
    for source in container.get("envFrom", []):
        if source.get("secretRef", {}).get("name") == SIGNING_KEY_SECRET:
            return True
    for var in container.get("env", []):
        ref = (var.get("valueFrom") or {}).get("secretKeyRef") or {}
        if var["name"].endswith("_INTERNAL_SIGNING_KEY") or ref.get("name") == SIGNING_KEY_SECRET:
            return True
        if ref.get("key") == SIGNING_KEY_KEY:
            return True
    return False


def signing_key_errors(objects: list[Obj]) -> list[str]:
    """The private key for internal tokens reaches the gateway and no other container (nor a
    volume of any other pod); every service container gets the public verify key."""
    errors = []
    for obj, spec, _labels in pod_specs(objects):
        for container in _containers(spec):
            where = f"{_name(obj)} container {container['name']}"
            module = python_module([*container.get("command", []), *container.get("args", [])])
            gets = _gets_signing_key_k8s(container)
            if module == GATEWAY_MODULE and not gets:
                errors.append(f"{where}: the gateway does not get the signing key")
            if module != GATEWAY_MODULE and gets:
                errors.append(f"{where}: gets the gateway's signing key")
            verify = [v for v in container.get("env", []) if v["name"].endswith("_VERIFY_KEY")]
            if (module or "").startswith("services.") and not verify:
                errors.append(f"{where}: no internal verify key")
        is_gateway = any(
            python_module(c.get("command")) == GATEWAY_MODULE for c in spec["containers"]
        )
        for volume in spec.get("volumes", []):
            if volume.get("secret", {}).get("secretName") == SIGNING_KEY_SECRET and not is_gateway:
                errors.append(f"{_name(obj)}: mounts the gateway's signing key")
    return errors


def compose_signing_key_errors(compose: Obj) -> list[str]:
    """Compose: only the gateway's environment carries INTERNAL_SIGNING_KEY; every service gets
    INTERNAL_VERIFY_KEY."""
    errors = []
    for name, service in compose.get("services", {}).items():
        env = _compose_env(service)
        module = python_module(_command_list(service.get("command")))
        gets = any(
            key.endswith("_INTERNAL_SIGNING_KEY") or "INTERNAL_SIGNING_KEY" in (value or "")
            for key, value in env.items()
        )
        if module == GATEWAY_MODULE and not gets:
            errors.append("compose: the gateway does not get the signing key")
        if module != GATEWAY_MODULE and gets:
            errors.append(f"compose: {name} gets the gateway's signing key")
        if (module or "").startswith("services.") and not any(
            key.endswith("_INTERNAL_VERIFY_KEY") for key in env
        ):
            errors.append(f"compose: {name} has no internal verify key")
    return errors


# What the Ingress must serve (the API and its documentation) and must not (the gateway's
# probes and metrics); a sample path of each.
PUBLIC_PATHS = ("/v1/reports", "/v1/auth/token", "/docs", "/openapi.json")
PRIVATE_PATHS = ("/metrics", "/healthz", "/readyz", "/")


def _ingress_matches(rule_path: str, path_type: str, path: str) -> bool:
    if path_type == "Exact":
        return path == rule_path
    prefix = rule_path.rstrip("/")  # Prefix matches whole path elements
    return path == prefix or path.startswith(prefix + "/") or prefix == ""


def ingress_errors(objects: list[Obj]) -> list[str]:
    """Ingresses lead only to the gateway, and only to its public paths."""
    errors = []
    routes = []
    for ingress in _by_kind(objects, "Ingress").values():
        if "defaultBackend" in ingress["spec"]:
            errors.append(f"{_name(ingress)}: a default backend serves every other path")
        for rule in ingress["spec"].get("rules", []):
            for path in rule.get("http", {}).get("paths", []):
                backend = path["backend"].get("service", {}).get("name")
                if backend != "gateway":
                    errors.append(f"{_name(ingress)}: routes {path['path']} to {backend}")
                routes.append((path["path"], path["pathType"]))
    for sample in PUBLIC_PATHS:
        if not any(_ingress_matches(p, kind, sample) for p, kind in routes):
            errors.append(f"ingress: {sample} is not served")
    for sample in PRIVATE_PATHS:
        if any(_ingress_matches(p, kind, sample) for p, kind in routes):
            errors.append(f"ingress: {sample} is public")
    return errors


# ---- operators' custom resources: CloudNativePG, prometheus-operator --------------------------

SCHEMAS = DEPLOY / "schemas"
CRD_SCHEMAS = {
    ("postgresql.cnpg.io/v1", "Cluster"): SCHEMAS / "cnpg-cluster.json",
    ("monitoring.coreos.com/v1", "PrometheusRule"): SCHEMAS / "prometheusrule.json",
    ("monitoring.coreos.com/v1", "ServiceMonitor"): SCHEMAS / "servicemonitor.json",
    ("monitoring.coreos.com/v1", "PodMonitor"): SCHEMAS / "podmonitor.json",
}


def _strict(node: Any) -> Any:
    """The CRD schema as `kubectl apply --validate=strict` reads it: a field no `properties`
    names is an error, except where the schema keeps unknown fields."""
    if isinstance(node, list):
        return [_strict(n) for n in node]
    if not isinstance(node, dict):
        return node
    out = {k: _strict(v) for k, v in node.items()}
    if (
        "properties" in out
        and "additionalProperties" not in out
        and not out.get("x-kubernetes-preserve-unknown-fields")
    ):
        out["additionalProperties"] = False
    return out


def crd_schema_errors(obj: Obj) -> list[str]:
    """An operator's object against the vendored openAPIV3Schema of its CRD."""
    path = CRD_SCHEMAS.get((obj.get("apiVersion", ""), obj.get("kind", "")))
    if path is None:
        return [f"{_name(obj)}: no vendored schema for {obj.get('apiVersion')} {obj.get('kind')}"]
    validator = jsonschema.Draft7Validator(_strict(json.loads(path.read_text())))
    return [
        f"{_name(obj)}: {error.json_path}: {error.message}" for error in validator.iter_errors(obj)
    ]


STORE_PROCESSES = ("gateway", "school_liaison", "case_tracking", "patrol", "notifications")


def store_url_errors(urls: Mapping[str, str | None]) -> list[str]:
    """Every process's STORE_URL names its own database and, for PostgreSQL, its own role."""
    from urllib.parse import urlsplit

    errors = []
    for process in STORE_PROCESSES:
        url = urls.get(process)
        if not url:
            errors.append(f"{process}: no STORE_URL")
            continue
        parts = urlsplit(url)
        database = parts.path.lstrip("/")
        if database != process:
            errors.append(f"{process}: STORE_URL names database {database!r}, not its own")
        if parts.scheme.startswith("postgres") and parts.username != process:
            errors.append(f"{process}: STORE_URL logs in as {parts.username!r}, not its own role")
    return errors


def k8s_store_urls(objects: list[Obj], sources: Sources) -> dict[str, str | None]:
    urls = {}
    for obj, spec, _labels in pod_specs(objects):
        for c in spec["containers"]:
            env, _ = container_env(_name(obj), c, sources)
            for name, value in env.items():
                match = re.fullmatch(r"HULEI_([A-Z_]+)_STORE_URL", name)
                if match:
                    urls[match.group(1).lower()] = value
    return urls


def cnpg_cluster_errors(cluster: Obj, sources: Sources) -> list[str]:
    """Three instances, one synchronous standby confirming each commit, a role with its password
    Secret (username/password) and a database owned by it per process, no PUBLIC access."""
    where, spec = _name(cluster), cluster["spec"]
    errors = crd_schema_errors(cluster)
    if spec.get("instances") != 3:
        errors.append(f"{where}: {spec.get('instances')} instances, not 3")
    sync = spec.get("postgresql", {}).get("synchronous", {})
    legacy = spec.get("minSyncReplicas", 0) >= 1 and spec.get("maxSyncReplicas", 0) >= 1
    if not legacy and not (
        sync.get("number", 0) >= 1 and sync.get("dataDurability") != "preferred"
    ):
        errors.append(f"{where}: no synchronous replication (a commit needs one standby)")
    initdb = spec.get("bootstrap", {}).get("initdb", {})
    sql = " ; ".join([*initdb.get("postInitSQL", []), *initdb.get("postInitApplicationSQL", [])])
    roles = {r["name"]: r for r in spec.get("managed", {}).get("roles", [])}
    for process in STORE_PROCESSES:
        owned = initdb.get("database") == process and initdb.get("owner") == process
        if not owned and f"CREATE DATABASE {process} OWNER {process}" not in sql:
            errors.append(f"{where}: no database {process} owned by role {process}")
        if f"REVOKE ALL ON DATABASE {process} FROM PUBLIC" not in sql:
            errors.append(f"{where}: database {process} is open to PUBLIC")
        role = roles.get(process)
        if role is None or not role.get("login"):
            errors.append(f"{where}: role {process} is not managed with LOGIN")
            continue
        secret = role.get("passwordSecret", {}).get("name")
        data = sources.lookup("secret", secret) if secret else None
        if data is None or not {"username", "password"} <= set(data):
            errors.append(
                f"{where}: role {process}: password Secret {secret} missing or not basic-auth"
            )
    return errors


def prometheus_rule_errors(rule: Obj) -> list[str]:
    """Every hulei_* series an alert queries is exported; each alert says what to do."""
    errors = crd_schema_errors(rule)
    for group in rule["spec"]["groups"]:
        for alert in group["rules"]:
            where = f"alert {alert.get('alert')}"
            for name in re.findall(r"\b(hulei_[a-z0-9_]+)", alert["expr"]):
                base = re.sub(r"_(bucket|count|sum)$", "", name)
                if name not in METRICS and base not in HISTOGRAMS:
                    errors.append(f"{where}: unknown metric {name}")
            if len(alert.get("annotations", {}).get("description", "")) < 80:
                errors.append(f"{where}: no description of what to do")
            if alert.get("labels", {}).get("severity") not in {"critical", "warning"}:
                errors.append(f"{where}: no severity")
    return errors


def job_reapply_errors(objects: list[Obj]) -> list[str]:
    """A Job's pod template is immutable: one that stays after finishing blocks the next
    `kubectl apply` of a changed manifest."""
    errors = []
    for job in _by_kind(objects, "Job").values():
        ttl = job["spec"].get("ttlSecondsAfterFinished")
        if ttl is None or ttl > 300:
            errors.append(f"{_name(job)}: stays after finishing (ttlSecondsAfterFinished={ttl})")
    return errors


def topology_errors(objects: list[Obj]) -> list[str]:
    errors = []
    for obj, spec, _labels in pod_specs(objects):
        for constraint in spec.get("topologySpreadConstraints", []):
            if constraint.get("nodeTaintsPolicy") != "Honor":
                errors.append(f"{_name(obj)}: topology spread without nodeTaintsPolicy: Honor")
    return errors


def service_monitor_errors(objects: list[Obj]) -> list[str]:
    """Each ServiceMonitor endpoint's port is a named port of a Service it selects."""
    errors = []
    services = _by_kind(objects, "Service")
    for monitor in _by_kind(objects, "ServiceMonitor").values():
        selector = monitor["spec"]["selector"]
        selected = []
        for service in services.values():
            labels = service["metadata"].get("labels", {})
            if not all(labels.get(k) == v for k, v in selector.get("matchLabels", {}).items()):
                continue
            expressions = selector.get("matchExpressions", [])
            if all(labels.get(e["key"]) in e.get("values", []) for e in expressions):
                selected.append(service)
        for endpoint in monitor["spec"]["endpoints"]:
            ports = [
                s
                for s in selected
                if any(p.get("name") == endpoint["port"] for p in s["spec"]["ports"])
            ]
            if not ports:
                errors.append(
                    f"{_name(monitor)}: no selected Service has a port {endpoint['port']!r}"
                )
    return errors
