"""Run the compose and Kubernetes NATS configs for real: certificates, paths and ports for a test.

A deployment's config names container paths (/etc/nats/…, /data) and fixed ports. `stage` copies
it, with the files it includes, into a directory, issues a throwaway CA and server certificate
there, and points the paths and ports at that directory and at free ports, changing nothing else:
the accounts, permissions and TLS settings the server enforces are the deployment's own.
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from shared.nats_auth import identities, password_variable

# Where the deployments mount their certificates, and the file names they use there.
CERT_DIRS = {
    "/etc/nats/certs/": ("server.crt", "server.key", "ca.crt"),  # compose
    "/etc/nats/tls/": ("tls.crt", "tls.key", "ca.crt"),  # Kubernetes (cert-manager)
}
# The server certificate's names: what compose and Kubernetes clients dial.
HOSTNAMES = ("nats", "nats-headless", "*.nats-headless", "localhost")


def _name(common: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common)])


def issue_certificates(directory: Path, names: tuple[str, str, str]) -> None:
    """A CA and a server (and route) certificate it signed, as PEM files named `names`."""
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca = (
        x509.CertificateBuilder()
        .subject_name(_name("hulei-nats-test-ca"))
        .issuer_name(_name("hulei-nats-test-ca"))
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    sans: list[x509.GeneralName] = [x509.DNSName(h) for h in HOSTNAMES]
    sans.append(x509.IPAddress(ipaddress.ip_address("127.0.0.1")))
    usages = [ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name("nats"))
        .issuer_name(ca.subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName(sans), critical=False)
        .add_extension(x509.ExtendedKeyUsage(usages), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    directory.mkdir(parents=True, exist_ok=True)
    crt, key_file, ca_file = (directory / n for n in names)
    crt.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    ca_file.write_bytes(ca.public_bytes(serialization.Encoding.PEM))


@dataclass
class Staged:
    config: Path
    ca_file: Path
    client_port: int
    env: dict[str, str]  # the passwords the deployment's secrets would provide


def stage(
    text: str,
    *,
    includes: Mapping[str, str],
    directory: Path,
    ports: Mapping[int, int] | None = None,
    certs: Path | None = None,
) -> Staged:
    """Write the config and its includes into `directory`, runnable there.

    `ports` maps the config's ports to the ones to use (default: unchanged); `certs` is a
    directory with the certificate files the config names (default: issue throwaway ones).
    """
    directory.mkdir(parents=True, exist_ok=True)
    for name, content in includes.items():
        (directory / name).write_text(content)
    ca_file = directory / "missing-ca.crt"
    for mount, names in CERT_DIRS.items():
        if mount in text:
            if certs is None:
                certs = directory / "certs"
                issue_certificates(certs, names)
            text = text.replace(mount, f"{certs}/")
            ca_file = certs / names[2]
    text = re.sub(r"(store_dir:\s*)/data\b", rf"\g<1>{directory}/data", text)
    text = text.replace("/var/run/nats/", f"{directory}/")
    client_port = 4222
    for old, new in (ports or {}).items():
        text = text.replace(f"0.0.0.0:{old}", f"127.0.0.1:{new}")
        if old == 4222:
            client_port = new
    config = directory / "nats.conf"
    config.write_text(text)
    env = {password_variable(i.user): f"test-password-{i.user}" for i in identities()}
    return Staged(config, ca_file, client_port, env)


# ---- who gets which NATS identity, in compose and Kubernetes ----------------------------------
# Each Hulei process must dial NATS over TLS, trusting a CA file, as its own user, with that
# user's own password; the NATS server must receive every password its accounts file reads.


def _identity_of(module: str) -> str:
    """gateway → gateway, services.patrol → patrol, deploy.streams → admin."""
    return "admin" if module == "deploy.streams" else module.rpartition(".")[2]


def _login_vars(module: str) -> dict[str, str]:
    """The env names of (user, password, url, CA) for a process module."""
    from tests import deploy_checks as dc

    cls = dc.settings_class(module)
    if cls is None:  # deploy.streams: plain variables, URL on the command line
        return {"user": "NATS_USER", "password": "NATS_PASSWORD", "ca": "NATS_CA_FILE"}
    p = dc.env_prefix(cls)
    logins = {"user": p + "NATS_USER", "password": p + "NATS_PASSWORD", "ca": p + "NATS_CA_FILE"}
    return {**logins, "url": p + "NATS_URL"}


def _process_errors(
    where: str, module: str, env: Mapping[str, str | None], password_ref: Mapping[str, str | None]
) -> list[str]:
    """`password_ref` maps a password variable to where its value comes from (compose: the
    .env variable; Kubernetes: the Secret key), normalised to NATS_PASSWORD_<USER>."""
    user = _identity_of(module)
    names = _login_vars(module)
    errors = []
    if env.get(names["user"]) != user:
        errors.append(f"{where}: {names['user']} is {env.get(names['user'])!r}, not {user!r}")
    if password_ref.get(names["password"]) != password_variable(user):
        got = password_ref.get(names["password"])
        errors.append(f"{where}: {names['password']} comes from {got!r}, not its own password")
    if not env.get(names["ca"]):
        errors.append(f"{where}: no {names['ca']}: the NATS server's certificate is not trusted")
    if "url" in names and not (env.get(names["url"]) or "").startswith("tls://"):
        errors.append(f"{where}: {names['url']} is not tls://")
    if module == "gateway":
        prefix = names["user"].removesuffix("NATS_USER")
        if env.get(prefix + "REPLAYER_NATS_USER") != "replayer":
            errors.append(f"{where}: no REPLAYER_NATS_USER=replayer")
        if password_ref.get(prefix + "REPLAYER_NATS_PASSWORD") != password_variable("replayer"):
            errors.append(f"{where}: REPLAYER_NATS_PASSWORD is not the replayer's password")
    return errors


def _server_errors(where: str, provided: set[str]) -> list[str]:
    wanted = {password_variable(i.user) for i in identities()}
    return [f"{where}: NATS server lacks {name}" for name in sorted(wanted - provided)]


_BUDGET = re.compile(r"^\$\{NATS_MEMORY:-(?P<default>[^}]+)\}$")


def _budget_errors(where: str, env: Mapping[str, str | None]) -> list[str]:
    """The server keeps to the budget `make run` gives its own (deploy/launcher.py)."""
    from deploy.launcher import NATS_MEMORY

    errors = []
    if env.get("GOGC") != "off":
        errors.append(f"{where}: GOGC is not off: it collects at each doubling, not its budget")
    match = _BUDGET.match(env.get("GOMEMLIMIT") or "")
    if match is None or match["default"] != NATS_MEMORY:
        errors.append(f"{where}: GOMEMLIMIT is not ${{NATS_MEMORY:-{NATS_MEMORY}}}")
    return errors


_COMPOSE_VAR = re.compile(r"^\$\{(\w+)(?::?[?-][^}]*)?\}$")


def compose_nats_errors(compose: Mapping[str, object]) -> list[str]:
    from tests import deploy_checks as dc

    errors = []
    services: dict[str, dc.Obj] = dict(compose["services"])  # type: ignore[call-overload]
    for name, service in services.items():
        env = dc._compose_env(service)
        refs = {
            k: (m.group(1) if v and (m := _COMPOSE_VAR.match(v)) else None) for k, v in env.items()
        }
        if service.get("image", "").startswith("nats:"):
            errors += _server_errors(f"compose {name}", {k for k, v in refs.items() if k == v})
            errors += _budget_errors(f"compose {name}", env)
            continue
        module = dc.python_module(dc._command_list(service.get("command")))
        if module is None or not dc._is_hulei_image(service.get("image")):
            continue
        errors += _process_errors(f"compose {name}", module, env, refs)
        if module == "deploy.streams" and "tls://" not in " ".join(service["command"]):
            errors.append(f"compose {name}: --nats-url is not tls://")
    return errors


def k8s_nats_errors(objects: list[dict[str, object]], sources: object) -> list[str]:
    from tests import deploy_checks as dc

    errors = []
    for obj, spec, _labels in dc.pod_specs(objects):
        for container in dc._containers(spec):
            where = f"{dc._name(obj)} container {container['name']}"
            refs = {
                var["name"]: "NATS_PASSWORD_"
                + ref["key"].removeprefix("nats-password-").upper().replace("-", "_")
                for var in container.get("env", [])
                if (ref := var.get("valueFrom", {}).get("secretKeyRef"))
                and ref["key"].startswith("nats-password-")
            }
            if container.get("image", "").startswith("nats:"):
                errors += _server_errors(where, {k for k, v in refs.items() if k == v})
                continue
            command = [*container.get("command", []), *container.get("args", [])]
            module = dc.python_module(command)
            if module is None or not dc._is_hulei_image(container.get("image")):
                continue
            env, _ = dc.container_env(where, container, sources)  # type: ignore[arg-type]
            errors += _process_errors(where, module, env, refs)
            if module == "deploy.streams" and "tls://" not in " ".join(command):
                errors.append(f"{where}: --nats-url is not tls://")
    return errors
