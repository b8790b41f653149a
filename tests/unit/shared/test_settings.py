"""Demo secrets and CHANGE-ME placeholders are refused outside demo mode, in every process's
settings; secrets are SecretStr; the internal-token keys must be readable Ed25519 keys."""

from __future__ import annotations

import base64
import os
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from pydantic import SecretStr, ValidationError

from gateway.settings import Settings as GatewaySettings
from services.case_tracking.settings import Settings as CaseTrackingSettings
from services.notifications.settings import Settings as NotificationsSettings
from services.patrol.settings import Settings as PatrolSettings
from services.school_liaison.settings import Settings as SchoolLiaisonSettings
from shared.identity import generate_keypair, load_signing_key, load_verify_key
from shared.settings import (
    DEMO_AUDIT_KEY,
    DEMO_INTERNAL_SIGNING_KEY,
    DEMO_INTERNAL_VERIFY_KEY,
    DEMO_JWT_SECRET,
    DEMO_PII_KEY,
    BaseServiceSettings,
)

pytestmark = pytest.mark.unit

REAL = "r" * 40
REAL_PII_KEY = "cmVhbC1waWkta2V5LW5vdC1mb3ItZGVtby0wMTIzNDU="  # base64 of 32 bytes
REAL_SIGNING_KEY, REAL_VERIFY_KEY = generate_keypair()
REAL_VALUES = {
    "jwt_secret": REAL,
    "pii_key": REAL_PII_KEY,
    "notes_key": REAL_PII_KEY,
    "internal_signing_key": REAL_SIGNING_KEY,
    "internal_verify_key": REAL_VERIFY_KEY,
    "audit_key": REAL,
}

# Each settings class with the guarded fields and their demo defaults.
GUARDED: dict[type[BaseServiceSettings], dict[str, str]] = {
    CaseTrackingSettings: {
        "internal_verify_key": DEMO_INTERNAL_VERIFY_KEY,
        "notes_key": DEMO_PII_KEY,
    },
    NotificationsSettings: {"internal_verify_key": DEMO_INTERNAL_VERIFY_KEY},
    PatrolSettings: {"internal_verify_key": DEMO_INTERNAL_VERIFY_KEY},
    SchoolLiaisonSettings: {
        "internal_verify_key": DEMO_INTERNAL_VERIFY_KEY,
        "pii_key": DEMO_PII_KEY,
    },
    GatewaySettings: {
        "jwt_secret": DEMO_JWT_SECRET,
        "internal_signing_key": DEMO_INTERNAL_SIGNING_KEY,
        "audit_key": DEMO_AUDIT_KEY,
    },
}
CASES = [(cls, field) for cls, fields in GUARDED.items() for field in fields]
SERVICES = [c for c in GUARDED if c is not GatewaySettings]
# What .env.example and the k8s dev overlay hold: refused outside demo mode.
PLACEHOLDERS = {
    "jwt_secret": "CHANGE-ME-jwt-secret-Hq4Zr8Nw2Lx6Cv1Bp7Ks3Md9Tf5Gy0Ej",
    "pii_key": "Q0hBTkdFLU1FLXBpaS1rZXktMzItYnl0ZXMtbG9uZyE=",  # base64 of "CHANGE-ME-pii-…"
    "notes_key": "Q0hBTkdFLU1FLXBpaS1rZXktMzItYnl0ZXMtbG9uZyE=",
    "internal_signing_key": "CHANGE-ME-internal-signing-key",
    "internal_verify_key": "change-me-internal-verify-key",
    "audit_key": "CHANGE-ME-audit-key-Wm3Rt7Yp1Kx5Nb9Qd2Fh6Jv0Lc4Sg8Ez",
}


def _plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


def real_secrets(cls: type[BaseServiceSettings]) -> dict[str, Any]:
    return {f: REAL_VALUES[f] for f in GUARDED[cls]}


def plain(value: object) -> object:
    return value.get_secret_value() if isinstance(value, SecretStr) else value


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in list(os.environ):
        if name.upper().startswith("HULEI_"):
            monkeypatch.delenv(name)


@pytest.mark.parametrize(("cls", "field"), CASES)
def test_demo_secret_refused_outside_demo_mode(cls: type[BaseServiceSettings], field: str) -> None:
    kwargs: dict[str, Any] = {**real_secrets(cls), field: GUARDED[cls][field]}
    with pytest.raises(ValidationError, match=field):
        cls(demo_mode=False, **kwargs)


@pytest.mark.parametrize(("cls", "field"), CASES)
def test_placeholder_refused_outside_demo_mode(cls: type[BaseServiceSettings], field: str) -> None:
    kwargs: dict[str, Any] = {**real_secrets(cls), field: PLACEHOLDERS[field]}
    with pytest.raises(ValidationError, match=f"{field} is still a CHANGE-ME placeholder"):
        cls(demo_mode=False, **kwargs)


@pytest.mark.parametrize("cls", list(GUARDED))
def test_defaults_are_refused_outside_demo_mode(cls: type[BaseServiceSettings]) -> None:
    with pytest.raises(ValidationError, match="demo default"):
        cls(demo_mode=False)


@pytest.mark.parametrize("cls", list(GUARDED))
def test_default_mode_is_not_demo(cls: type[BaseServiceSettings]) -> None:
    with pytest.raises(ValidationError):
        cls()


@pytest.mark.parametrize("cls", list(GUARDED))
def test_demo_secrets_accepted_in_demo_mode(cls: type[BaseServiceSettings]) -> None:
    settings = cls(demo_mode=True)
    for field, demo_value in GUARDED[cls].items():
        assert plain(getattr(settings, field)) == demo_value


@pytest.mark.parametrize("cls", list(GUARDED))
def test_real_secrets_accepted_outside_demo_mode(cls: type[BaseServiceSettings]) -> None:
    settings = cls(demo_mode=False, **real_secrets(cls))
    assert settings.demo_mode is False
    for field, value in real_secrets(cls).items():
        assert plain(getattr(settings, field)) == value


@pytest.mark.parametrize(
    ("cls", "field"),
    [
        (GatewaySettings, "jwt_secret"),
        (GatewaySettings, "internal_signing_key"),
        (SchoolLiaisonSettings, "pii_key"),
    ],
)
def test_secrets_are_secretstr_and_hidden_from_repr(
    cls: type[BaseServiceSettings], field: str
) -> None:
    settings = cls(demo_mode=False, **real_secrets(cls))
    assert isinstance(getattr(settings, field), SecretStr)
    assert REAL_VALUES[field] not in repr(settings)
    assert REAL_VALUES[field] not in str(settings)
    assert REAL_VALUES[field] not in settings.model_dump_json()


def test_the_gateway_has_no_verify_key_and_services_no_signing_key() -> None:
    assert "internal_verify_key" not in GatewaySettings.model_fields
    for cls in SERVICES:
        assert "internal_signing_key" not in cls.model_fields
    assert "internal_secret" not in GatewaySettings.model_fields


@pytest.mark.parametrize("cls", SERVICES)
def test_the_demo_verify_key_in_another_encoding_is_refused(
    cls: type[BaseServiceSettings],
) -> None:
    pem = (
        load_verify_key(DEMO_INTERNAL_VERIFY_KEY)
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    kwargs = {**real_secrets(cls), "internal_verify_key": pem}
    with pytest.raises(ValidationError, match="internal_verify_key is the demo key"):
        cls(demo_mode=False, **kwargs)
    assert cls(demo_mode=True, internal_verify_key=pem).verify_key is not None  # type: ignore[attr-defined]


def test_the_demo_signing_key_in_another_encoding_is_refused() -> None:
    pem = (
        load_signing_key(DEMO_INTERNAL_SIGNING_KEY)
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    with pytest.raises(ValidationError, match="internal_signing_key is the demo key"):
        GatewaySettings(
            demo_mode=False,
            jwt_secret=REAL,
            audit_key=REAL,
            internal_signing_key=pem,
        )
    assert GatewaySettings(demo_mode=True, internal_signing_key=pem).signing_key is not None


@pytest.mark.parametrize(
    ("cls", "field"),
    [(c, "internal_verify_key") for c in SERVICES] + [(GatewaySettings, "internal_signing_key")],
)
@pytest.mark.parametrize("bad", ["not-a-key", base64.b64encode(b"x" * 31).decode()])
def test_unreadable_keys_are_refused_naming_the_field(
    cls: type[BaseServiceSettings], field: str, bad: str
) -> None:
    fields: dict[str, Any] = {field: bad}
    with pytest.raises(ValidationError, match=field):
        cls(demo_mode=True, **fields)


def test_short_jwt_secret_refused() -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(demo_mode=True, jwt_secret="too-short")


@pytest.mark.parametrize(
    "demo_value", [DEMO_INTERNAL_SIGNING_KEY, DEMO_JWT_SECRET], ids=["signing", "jwt"]
)
def test_any_demo_secret_is_refused_in_any_secret_field(demo_value: str) -> None:
    with pytest.raises(ValidationError, match="jwt_secret"):
        GatewaySettings(
            demo_mode=False,
            internal_signing_key=REAL_SIGNING_KEY,
            jwt_secret=demo_value,
            audit_key=REAL,
        )
