"""The compose and Kubernetes NATS configs, run by a real nats-server: TLS and accounts work.

The configs are the checked-in files (with the accounts file they include); only container paths
and ports are pointed at the test's directory (tests/nats_deploy.py). Compose runs with the
certificates `make deploy/compose/certs` makes; Kubernetes with throwaway ones in cert-manager's
file names.
"""

from __future__ import annotations

import os
import shutil
import ssl
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path

import nats
import nats.errors
import pytest

from deploy.launcher import _port_open, free_port, nats_server_binary, wait_until
from deploy.streams import declare
from shared.bus import Bus
from shared.contracts.school import ChildErased
from shared.events import Envelope, utcnow
from shared.nats_auth import ADMIN, Credentials, password_variable
from tests import deploy_checks as dc
from tests.nats_deploy import Staged, stage

K8S_NATS = dc.K8S / "base" / "nats"


@contextmanager
def running(staged: Staged, workdir: Path, env: dict[str, str]) -> Iterator[str]:
    log = (workdir / "nats.log").open("wb")
    proc = subprocess.Popen(
        [nats_server_binary(), "-c", str(staged.config)],
        stdout=log,
        stderr=log,
        env={**os.environ, **staged.env, **env},
    )
    try:
        check = partial(_port_open, staged.client_port)
        wait_until(check, within=20, what="nats from the deployment config")
        yield f"tls://localhost:{staged.client_port}"
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def login(staged: Staged, user: str) -> Credentials:
    return Credentials(user=user, password=staged.env[password_variable(user)])


async def assert_refused_without_credentials_or_trust(url: str, staged: Staged) -> None:
    trusted = ssl.create_default_context(cafile=str(staged.ca_file))
    with pytest.raises(nats.errors.Error) as anonymous:
        await nats.connect(url, tls=trusted, allow_reconnect=False, connect_timeout=3)
    assert "authorization violation" in str(anonymous.value).lower()
    # The right password to a server whose certificate it cannot verify: no connection.
    with pytest.raises((ssl.SSLError, OSError, nats.errors.Error)):
        await nats.connect(
            url,
            tls=ssl.create_default_context(),
            allow_reconnect=False,
            connect_timeout=3,
            **login(staged, "gateway"),
        )


@pytest.fixture
def compose_certs(tmp_path: Path) -> Path:
    """What `make deploy/compose/certs` makes (its recipe, into a test directory)."""
    if shutil.which("make") is None or shutil.which("openssl") is None:
        pytest.skip("make and openssl are needed to run the Makefile's certificate recipe")
    certs = tmp_path / "certs"
    make = ["make", "-s", f"NATS_CERTS={certs}", f"{certs}/server.crt"]
    subprocess.run(make, cwd=dc.REPO, check=True, capture_output=True, timeout=60)
    return certs


async def test_the_compose_nats_config_serves_tls_and_only_its_accounts(
    tmp_path: Path, compose_certs: Path
) -> None:
    includes = {dc.COMPOSE_NATS_ACCOUNTS.name: dc.COMPOSE_NATS_ACCOUNTS.read_text()}
    ports = {4222: free_port(), 8222: free_port()}
    staged = stage(
        dc.COMPOSE_NATS_CONF.read_text(),
        includes=includes,
        directory=tmp_path / "nats",
        ports=ports,
        certs=compose_certs,
    )
    with running(staged, tmp_path, {}) as url:
        await declare(url, 1, ca_file=str(staged.ca_file), **login(staged, ADMIN))
        school = Bus(
            url=url,
            name="school_liaison",
            ca_file=str(staged.ca_file),
            **login(staged, "school_liaison"),
        )
        await school.connect()
        try:
            erased = ChildErased(child_ref="c", reports_erased=1, erased_at=utcnow())
            event = Envelope.wrap(erased, source="school_liaison", subject="c", correlation_id="c")
            await school.publish(event)
            info = await school.js.consumer_info("CASES", "school_liaison-cases")
            assert info.config.durable_name == "school_liaison-cases"
        finally:
            await school.close()
        await assert_refused_without_credentials_or_trust(url, staged)


async def test_the_kubernetes_nats_config_serves_tls_and_only_its_accounts(
    tmp_path: Path,
) -> None:
    includes = {"accounts.conf": (K8S_NATS / "accounts.conf").read_text()}
    ports = {4222: free_port(), 8222: free_port(), 6222: free_port()}
    staged = stage(
        (K8S_NATS / "nats.conf").read_text(),
        includes=includes,
        directory=tmp_path / "nats",
        ports=ports,
    )
    # One server of three: its peers never answer, so JetStream waits; TLS and accounts do not.
    with running(staged, tmp_path, {"POD_NAME": "nats-0"}) as url:
        trusted = ssl.create_default_context(cafile=str(staged.ca_file))
        nc = await nats.connect(
            url, tls=trusted, allow_reconnect=False, connect_timeout=3, **login(staged, "gateway")
        )
        try:
            await nc.flush(timeout=3)
            assert nc.connected_url is not None
            assert nc.connected_url.scheme == "tls"
        finally:
            await nc.close()
        await assert_refused_without_credentials_or_trust(url, staged)
