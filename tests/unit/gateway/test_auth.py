"""Public authentication: password check and bearer JWTs."""

from __future__ import annotations

import asyncio
import base64
import json
import threading
import time
from typing import Any

import jwt
import pytest
from argon2 import PasswordHasher
from fastapi import HTTPException

from gateway.auth import ALGORITHM, Passwords, Session, decode_token, issue_token
from gateway.settings import Settings
from shared.identity import Principal, Role, generate_keypair

pytestmark = pytest.mark.unit

SECRET = "g" * 40
# Every field the tests rely on is explicit, so no HULEI_GATEWAY_* variable can change it.
SETTINGS = Settings(
    demo_mode=False,
    internal_signing_key=generate_keypair()[0],
    jwt_secret=SECRET,
    audit_key="a" * 40,  # pydantic turns it into a SecretStr
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
        "ver": 0,
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
def test_issued_token_gives_back_the_principal_and_version(principal: Principal) -> None:
    token = issue_token(principal, SETTINGS, version=7)
    assert decode_token(token, SETTINGS) == Session(principal, 7)


def test_hand_made_valid_token_is_accepted() -> None:
    token = jwt.encode(claims(), SECRET, algorithm=ALGORITHM)
    assert decode_token(token, SETTINGS) == Session(OFFICER, 0)


def test_a_long_lived_token_signed_with_the_right_key_is_401() -> None:
    """A 10-year token is no token we issued, whatever key signed it."""
    now = int(time.time())
    assert_401(jwt.encode(claims(iat=now, exp=now + 10 * 365 * 86400), SECRET, algorithm=ALGORITHM))
    at_limit = claims(iat=now, exp=now + SETTINGS.token_ttl_s)
    assert decode_token(jwt.encode(at_limit, SECRET, algorithm=ALGORITHM), SETTINGS)


def test_issued_token_expires_after_ttl() -> None:
    decoded = jwt.decode(
        issue_token(OFFICER, SETTINGS, version=0),
        SECRET,
        algorithms=[ALGORITHM],
        audience=SETTINGS.jwt_audience,
    )
    assert decoded["exp"] - decoded["iat"] == SETTINGS.token_ttl_s


@pytest.mark.parametrize("token", [""], ids=["empty"])
def test_no_token_is_401(token: str) -> None:
    assert_401(token)


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 10, "iat": int(time.time()) - 700},
        {"aud": "hulei-internal"},
        {"iss": "hulei-gateway"},
        {"role": "superuser"},
        {"ver": "0"},
    ],
    ids=["expired", "wrong-audience", "wrong-issuer", "unknown-role", "version-not-int"],
)
def test_defective_token_is_401(bad: dict[str, Any]) -> None:
    assert_401(jwt.encode(claims(**bad), SECRET, algorithm=ALGORITHM))


@pytest.mark.parametrize("missing", ["exp", "sub", "role", "ver", "iat"])
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


async def test_right_password() -> None:
    assert await PASSWORDS.verify(user(), "correct horse") is True


async def test_wrong_password() -> None:
    assert await PASSWORDS.verify(user(), "battery staple") is False


async def test_unknown_user() -> None:
    assert await PASSWORDS.verify(None, "correct horse") is False


@pytest.mark.parametrize("overrides", [{"active": False}, {"active": None}], ids=["false", "none"])
async def test_inactive_user(overrides: dict[str, Any]) -> None:
    assert await PASSWORDS.verify(user(**overrides), "correct horse") is False


async def test_user_without_active_flag_is_refused() -> None:
    u = user()
    del u["active"]
    assert await PASSWORDS.verify(u, "correct horse") is False


async def test_corrupt_stored_hash() -> None:
    assert await PASSWORDS.verify(user(password_hash="not-a-hash"), "correct horse") is False


async def test_a_hash_made_off_the_loop_verifies() -> None:
    stored = await PASSWORDS.hash("tr0ub4dor&3")
    assert await PASSWORDS.verify(user(password_hash=stored), "tr0ub4dor&3") is True


async def test_beyond_the_waiting_room_password_checks_are_503() -> None:
    """One worker, one waiting: a third concurrent check is refused at once, not queued."""
    passwords = Passwords(HASHER, workers=1, max_waiting=1)
    release = threading.Event()
    slow = user(password_hash=HASH)
    original = passwords._check

    def held(stored: str, secret: str) -> bool:
        release.wait(timeout=10)  # hold the worker until the test has tried a third check
        return original(stored, secret)

    passwords._check = held  # type: ignore[method-assign]
    first = asyncio.create_task(passwords.verify(slow, "correct horse"))
    second = asyncio.create_task(passwords.verify(slow, "correct horse"))
    await asyncio.sleep(0)  # let both enter: one runs, one waits
    with pytest.raises(HTTPException) as busy:
        await passwords.verify(slow, "correct horse")
    assert busy.value.status_code == 503
    assert busy.value.headers == {"Retry-After": "1"}
    release.set()
    assert await first is True
    assert await second is True


async def test_a_check_whose_client_left_keeps_its_slot_until_its_thread_ends() -> None:
    """Hanging up must not free the slot while the hash still runs: that would let clients
    that hang up run any number of hashes at once."""
    passwords = Passwords(HASHER, workers=1)
    release, first_running, second_running = threading.Event(), threading.Event(), threading.Event()

    def held(stored: str, secret: str) -> bool:  # noqa: ARG001 - _check's signature
        (first_running if secret == "one" else second_running).set()
        release.wait(timeout=10)
        return False

    passwords._check = held  # type: ignore[method-assign]
    first = asyncio.create_task(passwords.verify(user(), "one"))
    assert await asyncio.to_thread(first_running.wait, 10)
    first.cancel()
    second = asyncio.create_task(passwords.verify(user(), "two"))
    # A bounded wait for something that must not happen: the second check does not start.
    assert not await asyncio.to_thread(second_running.wait, 0.5)
    release.set()
    assert await second is False
    assert second_running.is_set()
    with pytest.raises(asyncio.CancelledError):
        await first
