"""The launcher hands the internal-token keys out: the private key to the gateway alone."""

from __future__ import annotations

from pathlib import Path

import pytest

from deploy.launcher import SERVICES, Platform, Ports
from shared.identity import (
    Principal,
    Role,
    load_signing_key,
    load_verify_key,
    mint_internal_token,
    read_internal_token,
)
from shared.settings import DEMO_INTERNAL_SIGNING_KEY, DEMO_INTERNAL_VERIFY_KEY

pytestmark = pytest.mark.unit

SIGNING = "HULEI_GATEWAY_INTERNAL_SIGNING_KEY"


def verify_env(service: str) -> str:
    return f"HULEI_{service.upper()}_INTERNAL_VERIFY_KEY"


def platform(tmp_path: Path, *, demo: bool) -> Platform:
    return Platform(var_dir=tmp_path, ports=Ports.free(), demo=demo)


@pytest.fixture(autouse=True)
def exported_key(monkeypatch: pytest.MonkeyPatch) -> None:
    """A signing key exported in the shell must not leak to the services through os.environ."""
    monkeypatch.setenv(SIGNING, "exported-in-the-shell")


def test_demo_mode_hands_out_the_demo_pair(tmp_path: Path) -> None:
    p = platform(tmp_path, demo=True)
    assert p._env("gateway")[SIGNING] == DEMO_INTERNAL_SIGNING_KEY
    for service in SERVICES:
        env = p._env(service)
        assert env[verify_env(service)] == DEMO_INTERNAL_VERIFY_KEY
        assert SIGNING not in env


def test_without_demo_each_launch_has_its_own_pair_and_only_the_gateway_signs(
    tmp_path: Path,
) -> None:
    first, second = platform(tmp_path, demo=False), platform(tmp_path, demo=False)
    signing = first._env("gateway")[SIGNING]
    assert signing not in {DEMO_INTERNAL_SIGNING_KEY, second._env("gateway")[SIGNING]}
    who = Principal(user_id="d", role=Role.dispatcher)
    for service in SERVICES:
        env = first._env(service)
        assert SIGNING not in env
        assert signing not in env.values()
        token = mint_internal_token(who, key=load_signing_key(signing), service=service)
        verify = load_verify_key(env[verify_env(service)])
        assert read_internal_token(token, key=verify, service=service) == who
