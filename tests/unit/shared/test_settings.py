"""Demo secrets are refused outside demo mode, in every process's settings."""

from __future__ import annotations

import os
from typing import Any

import pytest
from pydantic import SecretStr, ValidationError

from gateway.settings import Settings as GatewaySettings
from services.case_tracking.settings import Settings as CaseTrackingSettings
from services.notifications.settings import Settings as NotificationsSettings
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.settings import Settings as SchoolLiaisonSettings
from shared.settings import (
    DEMO_AUDIT_KEY,
    DEMO_INTERNAL_SECRET,
    DEMO_JWT_SECRET,
    DEMO_PII_KEY,
    BaseServiceSettings,
)

pytestmark = pytest.mark.unit

REAL = "r" * 40
REAL_PII_KEY = "cmVhbC1waWkta2V5LW5vdC1mb3ItZGVtby0wMTIzNDU="  # base64 of 32 bytes

# Each settings class with the secret fields it must guard.
SECRETS: dict[type[BaseServiceSettings], dict[str, str]] = {
    BaseServiceSettings: {"internal_secret": DEMO_INTERNAL_SECRET},
    CaseTrackingSettings: {"internal_secret": DEMO_INTERNAL_SECRET},
    NotificationsSettings: {"internal_secret": DEMO_INTERNAL_SECRET},
    PatrolSettings: {"internal_secret": DEMO_INTERNAL_SECRET},
    SchoolLiaisonSettings: {"internal_secret": DEMO_INTERNAL_SECRET, "pii_key": DEMO_PII_KEY},
    GatewaySettings: {
        "internal_secret": DEMO_INTERNAL_SECRET,
        "jwt_secret": DEMO_JWT_SECRET,
        "audit_key": DEMO_AUDIT_KEY,
    },
}
CASES = [(cls, field) for cls, fields in SECRETS.items() for field in fields]


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def real_secrets(cls: type[BaseServiceSettings]) -> dict[str, Any]:
    return {f: (REAL_PII_KEY if f == "pii_key" else REAL) for f in SECRETS[cls]}


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("HULEI_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("cls", "field"), CASES)
def test_demo_secret_refused_outside_demo_mode(cls: type[BaseServiceSettings], field: str) -> None:
    kwargs: dict[str, Any] = {**real_secrets(cls), field: SECRETS[cls][field]}
    with pytest.raises(ValidationError, match=field):
        cls(demo_mode=False, **kwargs)


@pytest.mark.parametrize("cls", list(SECRETS))
def test_defaults_are_refused_outside_demo_mode(cls: type[BaseServiceSettings]) -> None:
    with pytest.raises(ValidationError, match="demo default"):
        cls(demo_mode=False)


@pytest.mark.parametrize("cls", list(SECRETS))
def test_default_mode_is_not_demo(cls: type[BaseServiceSettings]) -> None:
    with pytest.raises(ValidationError):
        cls()


@pytest.mark.parametrize("cls", list(SECRETS))
def test_demo_secrets_accepted_in_demo_mode(cls: type[BaseServiceSettings]) -> None:
    settings = cls(demo_mode=True)
    for field, demo_value in SECRETS[cls].items():
        assert _plain(getattr(settings, field)) == demo_value


@pytest.mark.parametrize("cls", list(SECRETS))
def test_real_secrets_accepted_outside_demo_mode(cls: type[BaseServiceSettings]) -> None:
    settings = cls(demo_mode=False, **real_secrets(cls))
    assert settings.demo_mode is False
    for field, value in real_secrets(cls).items():
        assert _plain(getattr(settings, field)) == value


@pytest.mark.parametrize("cls", list(SECRETS))
def test_short_internal_secret_refused(cls: type[BaseServiceSettings]) -> None:
    with pytest.raises(ValidationError, match="internal_secret"):
        cls(demo_mode=True, internal_secret="too-short")


def test_short_jwt_secret_refused() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(demo_mode=True, jwt_secret="too-short")


@pytest.mark.parametrize(
    "demo_value", [DEMO_INTERNAL_SECRET, DEMO_JWT_SECRET], ids=["internal", "jwt"]
)
def test_any_demo_secret_is_refused_in_any_secret_field(demo_value: str) -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(
            demo_mode=False,
            internal_secret=REAL,
            jwt_secret=demo_value,
            audit_key=REAL,  # type: ignore[arg-type]
        )
