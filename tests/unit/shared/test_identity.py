"""The internal token the gateway hands to services, and a principal's inboxes."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import jwt
import pytest

from shared.identity import (
    INTERNAL_ALGORITHM,
    INTERNAL_AUDIENCE,
    INTERNAL_ISSUER,
    Principal,
    Role,
    mint_internal_token,
    read_internal_token,
)

pytestmark = pytest.mark.unit

SECRET = "s" * 40
OFFICER = Principal(
    user_id="officer-1", role=Role.police_officer, school_ids=("school-1", "school-2")
)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": INTERNAL_ISSUER,
        "aud": INTERNAL_AUDIENCE,
        "iat": now,
        "exp": now + 60,
        "sub": OFFICER.user_id,
        "principal": OFFICER.model_dump(mode="json"),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def unsigned_token(payload: dict[str, Any]) -> str:
    """A token with alg "none" and no signature, as an attacker would forge it."""

    def part(obj: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(payload)}."


@pytest.mark.parametrize(
    "principal",
    [
        OFFICER,
        Principal(user_id="t", role=Role.teacher, school_id="school-1"),
        Principal(user_id="w", role=Role.social_worker, org_id="org-1"),
        Principal(user_id="d", role=Role.dispatcher),
    ],
)
def test_round_trip(principal: Principal) -> None:
    token = mint_internal_token(principal, secret=SECRET)
    assert read_internal_token(token, secret=SECRET) == principal


def test_wrong_secret_is_refused() -> None:
    token = mint_internal_token(OFFICER, secret=SECRET)
    with pytest.raises(jwt.InvalidTokenError):
        read_internal_token(token, secret="o" * 40)


def test_tampered_token_is_refused() -> None:
    header, payload, signature = mint_internal_token(OFFICER, secret=SECRET).split(".")
    forged = jwt.encode(
        claims(principal={"user_id": "x", "role": "admin"}), "o" * 40, INTERNAL_ALGORITHM
    )
    forged_payload = forged.split(".")[1]
    with pytest.raises(jwt.InvalidTokenError):
        read_internal_token(f"{header}.{forged_payload}.{signature}", secret=SECRET)
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(jwt.InvalidTokenError):
        read_internal_token(f"{header}.{payload}.{flipped}", secret=SECRET)


@pytest.mark.parametrize(
    "bad",
    [
        {"exp": int(time.time()) - 10},
        {"aud": "hulei-api"},
        {"iss": "somebody-else"},
        {"exp": None},
        {"sub": None},
    ],
    ids=["expired", "audience", "issuer", "no-exp", "no-sub"],
)
def test_defective_claims_are_refused(bad: dict[str, object]) -> None:
    token = jwt.encode(claims(**bad), SECRET, algorithm=INTERNAL_ALGORITHM)
    with pytest.raises(jwt.InvalidTokenError):
        read_internal_token(token, secret=SECRET)


def test_unsigned_token_is_refused() -> None:
    token = unsigned_token(claims())
    with pytest.raises(jwt.InvalidTokenError):
        read_internal_token(token, secret=SECRET)


@pytest.mark.parametrize(
    ("principal", "keys"),
    [
        (OFFICER, ["user:officer-1", "role:police_officer"]),
        (
            Principal(user_id="w", role=Role.social_worker, org_id="org-1"),
            ["user:w", "role:social_worker", "org:org-1"],
        ),
        (Principal(user_id="d", role=Role.dispatcher), ["user:d", "role:dispatcher"]),
    ],
)
def test_inbox_keys(principal: Principal, keys: list[str]) -> None:
    assert principal.inbox_keys == keys
