"""Start what a `tests/manifests.Spec` describes, on this machine: NATS (the manifests' config,
all its nodes), the streams job, the services and the gateway, each with the manifests' command
and environment on top of the image's (Dockerfile ENV), their network names pointed at local
ports, and an OTLP collector where the manifests send traces.

PostgreSQL runs for real (tests/pgserver.py) with the deployment's init SQL (compose's
docker-entrypoint-initdb.d scripts, or what a CloudNativePG Cluster's bootstrap says) and its
roles' passwords. Two things cannot run here as written and are substituted, each said where it
happens: a MongoDB store (a SQLite file per database, after checking the URL's user is one the
init script creates) and the certificates (issued by the test, in the file names the deployment
mounts).
"""

from __future__ import annotations

import gzip
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import httpx

from deploy.launcher import free_port, nats_server_binary, wait_until
from tests import deploy_checks as dc
from tests.manifests import Process, Spec, rewrite
from tests.nats_deploy import CERT_DIRS, issue_certificates, stage
from tests.pgserver import PgServer, find_bin_dir


def _answers(url: str) -> bool:
    return httpx.get(url, timeout=2).status_code == 200


class StartError(RuntimeError):
    """The deployment, started as written, does not come up: the message says where."""


class Collector:
    """Accepts OTLP/HTTP trace exports and counts them."""

    def __init__(self) -> None:
        self.exports: list[bytes] = []  # request bodies (OTLP protobuf)
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.headers.get("Content-Encoding") == "gzip":
                    body = gzip.decompress(body)
                outer.exports.append(body)
                self.send_response(200)
                self.end_headers()

            def log_message(self, *_args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def image_env() -> dict[str, str]:
    """The final stage's ENV of the Dockerfile, without PATH (the test's venv stands in)."""
    env: dict[str, str] = {}
    for keyword, args in dc.parse_dockerfile(dc.DOCKERFILE.read_text()):
        if keyword == "FROM":
            env = {}
        elif keyword == "ENV":
            env.update(dc._dockerfile_env(args))
    env.pop("PATH", None)
    return env


def init_script_errors(spec: Spec) -> list[str]:
    """MongoDB init JavaScript must parse (node --check). PostgreSQL init SQL runs for real once
    the manifests carry it and the PostgreSQL adapter is merged (not yet on this branch)."""
    errors = []
    for name, text in spec.store_init.items():
        if name.endswith(".js") and (node := shutil.which("node")):
            done = subprocess.run(
                [node, "--check", "-"], input=text, capture_output=True, text=True, timeout=30
            )
            if done.returncode != 0:
                errors.append(f"init script {name} does not parse: {done.stderr.strip()[-300:]}")
    return errors


def local_store(spec: Spec, process: str, url: str, directory: Path) -> str:
    """Substitute for the store the manifests name (see the module docstring)."""
    parts = urlsplit(url)
    database = parts.path.strip("/") or process
    if parts.scheme.startswith("mongodb"):
        if parts.username is not None:
            users = set()
            for text in spec.store_init.values():
                if listed := re.search(r"PROCESSES\s*=\s*\[([^\]]*)\]", text):
                    users |= set(re.findall(r"['\"](\w+)['\"]", listed.group(1)))
            if parts.username not in users or parts.username != database:
                raise StartError(
                    f"{process}: store user {parts.username!r} of database {database!r} is not "
                    f"one the init script creates for it ({sorted(users)})"
                )
        return f"sqlite:///{directory / f'{database}.db'}"
    if parts.scheme in ("sqlite", "postgresql", "postgres"):
        return url  # PostgreSQL: the local server, already pointed at by rewrite()
    raise StartError(f"{process}: store {parts.scheme}:// cannot be started by this harness yet")


@dataclass
class Local:
    spec: Spec
    workdir: Path
    probe_within: float = 60.0
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    ports: dict[str, int] = field(default_factory=dict)  # process → its local HTTP port
    logs: list[IO[bytes]] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.collector = Collector()
        self.certs = self.workdir / "certs"
        # The certificate file names the config mounts (compose's or cert-manager's).
        names = next(
            (n for m, n in CERT_DIRS.items() if m in self.spec.nats.config),
            CERT_DIRS["/etc/nats/tls/"],
        )
        issue_certificates(self.certs, names)
        self.ca_file = self.certs / names[2]
        nodes = len(self.spec.nats.nodes)
        self.nats_ports = [{p: free_port() for p in (4222, 6222, 8222)} for _ in range(nodes)]
        self.ports = {n: free_port() for n, p in self.spec.processes.items() if p.port}
        self.local: dict[tuple[str, int], int] = {
            name: self.collector.port for name in self.spec.otlp
        }
        for i, dialled in enumerate(self.spec.nats.names):
            for host, port in dialled:
                self.local.setdefault((host, port), self.nats_ports[i].get(port, 0))
        self.pg: PgServer | None = None
        if self.spec.postgres is not None:
            bin_dir = find_bin_dir()
            if bin_dir is None:
                raise StartError("no initdb/pg_ctl: install PostgreSQL (make install does)")
            self.pg = PgServer(bin_dir)
            self.local.update(dict.fromkeys(self.spec.postgres.names, self.pg.port))
        for key, (process, port) in self.spec.services.items():
            if self.spec.processes[process].port == port:
                self.local[key] = self.ports[process]

    # ---- PostgreSQL -----------------------------------------------------------------------

    def start_postgres(self) -> None:
        """The deployment's init scripts on an empty server, then passwords enforced on TCP
        (tests/pgserver.py trusts every connection; the processes must use their own)."""
        spec, pg = self.spec.postgres, self.pg
        if spec is None or pg is None:
            return
        pg.start()
        for database, script in spec.scripts:
            self._psql(database, script, spec.env)
        for role, password in spec.roles.items():
            self._psql("postgres", f"ALTER ROLE {role} LOGIN PASSWORD :'pw';", {}, pw=password)
        (pg.data / "pg_hba.conf").write_text(
            "local all all trust\nhost all all 127.0.0.1/32 scram-sha-256\n"
        )
        pg._run(str(pg.bin_dir / "pg_ctl"), "-D", str(pg.data), "reload")

    def _psql(self, database: str, script: str, env: dict[str, str], **variables: str) -> None:
        assert self.pg is not None
        psql = shutil.which("psql") or str(self.pg.bin_dir / "psql")
        argv = [psql, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-h", str(self.pg.sock)]
        argv += ["-p", str(self.pg.port), "-U", "hulei", "-d", database]
        argv += [f"--set={k}={v}" for k, v in variables.items()]
        done = subprocess.run(
            argv, input=script, env={**self._base(), **env}, capture_output=True, text=True,
            timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StartError(f"PostgreSQL init script failed: {done.stderr.strip()[-500:]}")

    # ---- NATS -----------------------------------------------------------------------------

    def start_nats(self) -> None:
        for i, node in enumerate(self.spec.nats.nodes):
            staged = stage(
                rewrite(self.spec.nats.config, self.local),
                includes=self.spec.nats.includes,
                directory=self.workdir / node,
                ports=self.nats_ports[i],
                certs=self.certs,
            )
            env = {**self.spec.nats.env, "POD_NAME": node}
            self._spawn(f"nats {node}", [nats_server_binary(), "-c", str(staged.config)], env)
        for i, node in enumerate(self.spec.nats.nodes):
            url = f"http://127.0.0.1:{self.nats_ports[i][8222]}{self.spec.nats.probe or '/healthz'}"
            self._wait(partial(_answers, url), f"nats {node}")

    # ---- Hulei processes ------------------------------------------------------------------

    def environment(self, process: Process) -> dict[str, str]:
        env = {**image_env(), **process.env}
        mounts = self._mounts(process)
        for key, value in env.items():
            for inside, outside in mounts.items():
                value = value.replace(inside, outside)
            env[key] = rewrite(value, self.local)
            if key.endswith("_STORE_URL"):
                env[key] = local_store(self.spec, process.name, env[key], self.workdir / "stores")
        if process.port:
            module = dc.python_module(process.argv) or ""
            listens = dc.effective_port(module, env)
            if listens != process.port:
                raise StartError(
                    f"{process.name}: listens on {listens}, its container port is {process.port}"
                )
            cls = dc.settings_class(module)
            assert cls is not None  # effective_port found its settings
            env[dc.env_prefix(cls) + "PORT"] = str(self.ports[process.name])
        return env

    def argv(self, process: Process) -> list[str]:
        mounts = self._mounts(process)
        out = []
        for arg in process.argv:
            for inside, outside in mounts.items():
                arg = arg.replace(inside, outside)
            out.append(rewrite(arg, self.local))
        if out and Path(out[0]).name in {"python", "python3"}:
            out[0] = sys.executable
        return out

    def _mounts(self, process: Process) -> dict[str, str]:
        """Each mounted ConfigMap/Secret written under the workdir; certificates are ours."""
        mapped = {}
        for n, (inside, files) in enumerate(process.mounts.items()):
            if set(files) == {""}:  # compose bind mount of one file
                source = files[""]
                local = (
                    self.certs / Path(source).name
                    if "certs/" in source
                    else dc.COMPOSE_FILE.parent / source
                )
                mapped[inside] = str(local)
                continue
            directory = self.workdir / "mounts" / process.name / str(n)
            directory.mkdir(parents=True, exist_ok=True)
            for name, content in files.items():
                ours = self.certs / name
                if not content and ours.exists():
                    shutil.copy(ours, directory / name)
                else:
                    (directory / name).write_text(content)
            mapped[inside] = str(directory)
        return mapped

    def run_job(self, name: str, *, within: float = 60) -> None:
        process = self.spec.processes[name]
        self._spawn(name, self.argv(process), self.environment(process))
        try:
            code = self.procs[name].wait(timeout=within)
        except subprocess.TimeoutExpired:
            raise StartError(f"job {name} did not finish in {within:.0f}s") from None
        if code != 0:
            raise StartError(f"job {name} exited {code}: {self.log_tail(name)}")

    def exec(self, name: str, argv: list[str], env: dict[str, str]) -> str:
        """Run a command with a process's environment, as `kubectl exec` / `docker compose
        exec` would; its output, or StartError."""
        process = self.spec.processes[name]
        full = {**self._base(), **self.environment(process), **env}
        done = subprocess.run(
            self.argv(Process(name, argv, {}, mounts=process.mounts)),
            env=full, cwd=dc.REPO, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if done.returncode != 0:
            raise StartError(f"{argv} in {name} exited {done.returncode}: {done.stderr[-800:]}")
        return done.stdout

    def traced(self, service: str) -> bool:
        """Whether the collector has received spans of `service` (its service.name)."""
        return any(service.encode() in body for body in self.collector.exports)

    def start(self, name: str) -> None:
        process = self.spec.processes[name]
        self._spawn(name, self.argv(process), self.environment(process))

    def probe(self, name: str) -> None:
        """Every probe path the manifests give, until it answers 200 (bounded)."""
        for path in self.spec.processes[name].probes:
            url = f"http://127.0.0.1:{self.ports[name]}{path}"

            def ok(url: str = url, path: str = path) -> bool:
                status = httpx.get(url, timeout=2).status_code
                if status == 404:  # not "not yet": this path will never answer
                    raise StartError(f"{name} probe {path}: 404, the process has no such path")
                return status == 200

            self._wait(ok, f"{name} {path}")

    def start_all(self) -> None:
        self.start_some([n for n, p in self.spec.processes.items() if not p.job])

    def start_some(self, servers: list[str]) -> None:
        """The init check, NATS, the jobs, then only `servers` (all a mutation test needs)."""
        if errors := init_script_errors(self.spec):
            raise StartError("; ".join(errors))
        self.start_postgres()
        self.start_nats()
        for name in [n for n, p in self.spec.processes.items() if p.job]:
            self.run_job(name)
        for name in servers:
            self.start(name)
        for name in servers:
            self.probe(name)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    # ---- plumbing -------------------------------------------------------------------------

    def _spawn(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        log = (self.workdir / f"{name.replace(' ', '-')}.log").open("wb")
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(
            argv, env={**self._base(), **env}, cwd=dc.REPO, stdout=log, stderr=subprocess.STDOUT
        )

    @staticmethod
    def _base() -> dict[str, str]:
        base = {k: os.environ[k] for k in ("PATH", "HOME", "LANG", "TMPDIR") if k in os.environ}
        # Export spans every 0.2 s instead of 5 s: when, not where, so the manifests still decide.
        return {**base, "OTEL_BSP_SCHEDULE_DELAY": "200"}

    def _wait(self, check: Callable[[], object], what: str) -> None:
        def alive_and(check: Callable[[], object] = check) -> object:
            dead = [n for n, p in self.procs.items() if p.poll() not in (None, 0)]
            if dead:
                raise StartError(f"{dead[0]} exited: {self.log_tail(dead[0])}")
            return check()

        try:
            wait_until(alive_and, within=self.probe_within, what=what)
        except TimeoutError as e:
            raise StartError(str(e)) from None

    def log_tail(self, name: str) -> str:
        path = self.workdir / f"{name.replace(' ', '-')}.log"
        return path.read_text(errors="replace")[-1500:] if path.exists() else ""

    def stop(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for log in self.logs:
            log.close()
        self.collector.close()
        if self.pg is not None:
            self.pg.stop()
            self.pg.remove()
