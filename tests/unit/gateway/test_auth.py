"""Public authentication: password check and bearer JWTs."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from fastapi import HTTPException

from gateway.auth import ALGORITHM, Passwords, decode_token, issue_token
from gateway.settings import Settings
from shared.identity import Principal, Role

pytestmark = pytest.mark.unit

SECRET = "g" * 40
# Every field the tests rely on is explicit, so no HULEI_GATEWAY_* variable can change it.
SETTINGS = Settings(
    demo_mode=False,
    internal_secret="i" * 40,
    jwt_secret=SECRET,
    audit_key="a" * 40,  # type: ignore[arg-type]  # pydantic turns it into a SecretStr
    jwt_issuer="hulei",
    jwt_audience="hulei-api",
    token_ttl_s=3600,
)
OFFICER = Principal(
    user_id="officer-1", role=Role.police_officer, school_ids=("school-1", "school-2")
)


def claims(**overrides: Any) -> dict[str, Any]:
    now = int(time.time())
    base: dict[str, Any] = {
        "iss": SETTINGS.jwt_issuer,
        "aud": SETTINGS.jwt_audience,
        "sub": OFFICER.user_id,
        "iat": now,
        "exp": now + 600,
        "role": OFFICER.role.value,
        "school_ids": list(OFFICER.school_ids),
    }
    base.update(overrides)
    return base


def unsigned_token(payload: dict[str, Any]) -> str:
    """A token with alg "none" and no signature, as an attacker would forge it."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


def assert_401(token: str) -> None:
    with pytest.raises(HTTPException) as info:
        decode_token(token, SETTINGS)
    assert info.value.status_code == 401
    assert info.value.headers == {"WWW-Authenticate": "Bearer"}


# --- tokens ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "principal",
    [
        OFFICER,
        Principal(user_id="t", role=Role.teacher, school_id="school-1"),
        Principal(user_id="w", role=Role.social_worker, org_id="org-1"),
        Principal(user_id="x", role=Role.admin),
    ],
)
def test_issued_token_gives_back_the_principal(principal: Principal) -> None:
    token = issue_token(principal, SETTINGS)
    assert decode_token(token, SETTINGS) == principal


def test_hand_made_valid_token_is_accepted() -> None:
    token = jwt.encode(claims(), SECRET, algorithm=ALGORITHM)
    assert decode_token(token, SETTINGS) == OFFICER


def test_issued_token_expires_after_ttl() -> None:
    decoded = jwt.decode(
        issue_token(OFFICER, SETTINGS),
        SECRET,
        algorithms=[ALGORITHM],
        audience=SETTINGS.jwt_audience,
    )
    assert decoded["exp"] - decoded["iat"] == SETTINGS.token_ttl_s


@pytest.mark.parametrize("token", [None, ""], ids=["none", "empty"])
def test_no_token_is_401(token: str | None) -> None:
    assert_401(token)


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 10, "iat": int(time.time()) - 700},
        {"aud": "hulei-internal"},
        {"iss": "hulei-gateway"},
        {"role": "superuser"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "unknown-role"],
)
def test_defective_token_is_401(bad: dict[str, Any]) -> None:
    assert_401(jwt.encode(claims(**bad), SECRET, algorithm=ALGORITHM))


@pytest.mark.parametrize("missing", ["exp", "sub", "role"])
def test_token_missing_a_claim_is_401(missing: str) -> None:
    c = claims()
    del c[missing]
    assert_401(jwt.encode(c, SECRET, algorithm=ALGORITHM))


def test_token_signed_with_another_secret_is_401() -> None:
    assert_401(jwt.encode(claims(), "o" * 40, algorithm=ALGORITHM))


def test_unsigned_token_is_401() -> None:
    assert_401(unsigned_token(claims(role="admin")))


def test_garbage_token_is_401() -> None:
    assert_401("not.a.jwt")


# --- passwords -------------------------------------------------------------------------------

HASHER = PasswordHasher(time_cost=1, memory_cost=8, parallelism=1)
HASH = HASHER.hash("correct horse")
PASSWORDS = Passwords(HASHER)


def user(**overrides: Any) -> dict[str, Any]:
    return {"id": "officer-1", "role": "police_officer", "password_hash": HASH, "active": True} | (
        overrides
    )


def test_right_password() -> None:
    assert PASSWORDS.verify(user(), "correct horse") is True


def test_wrong_password() -> None:
    assert PASSWORDS.verify(user(), "battery staple") is False


def test_unknown_user() -> None:
    assert PASSWORDS.verify(None, "correct horse") is False


@pytest.mark.parametrize("overrides", [{"active": False}, {"active": None}], ids=["false", "none"])
def test_inactive_user(overrides: dict[str, Any]) -> None:
    assert PASSWORDS.verify(user(**overrides), "correct horse") is False


def test_user_without_active_flag_is_refused() -> None:
    u = user()
    del u["active"]
    assert PASSWORDS.verify(u, "correct horse") is False


def test_corrupt_stored_hash() -> None:
    assert PASSWORDS.verify(user(password_hash="not-a-hash"), "correct horse") is False
