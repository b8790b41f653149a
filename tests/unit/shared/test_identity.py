"""The internal token the gateway hands to services, its keys, and a principal's inboxes."""

from __future__ import annotations

import base64
import json
import time
from collections.abc import Callable
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from shared.identity import (
    INTERNAL_ALGORITHM,
    INTERNAL_ISSUER,
    INTERNAL_TTL_S,
    Principal,
    Role,
    generate_keypair,
    internal_audience,
    load_signing_key,
    load_verify_key,
    mint_internal_token,
    raw_public,
    read_internal_token,
)

pytestmark = pytest.mark.unit

SIGNING = Ed25519PrivateKey.generate()
VERIFY = SIGNING.public_key()
SERVICE = "school_liaison"
OFFICER = Principal(
    user_id="officer-1", role=Role.police_officer, school_ids=("school-1", "school-2")
)


def claims(**overrides: object) -> dict[str, object]:
    now = int(time.time())
    base: dict[str, object] = {
        "iss": INTERNAL_ISSUER,
        "aud": internal_audience(SERVICE),
        "iat": now,
        "exp": now + INTERNAL_TTL_S,
        "jti": "a-unique-id",
        "sub": OFFICER.user_id,
        "principal": OFFICER.model_dump(mode="json"),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def read(token: str) -> Principal:
    return read_internal_token(token, key=VERIFY, service=SERVICE)


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
    token = mint_internal_token(principal, key=SIGNING, service=SERVICE)
    assert read(token) == principal


def test_minted_token_is_short_lived_for_one_service_and_unique() -> None:
    first = mint_internal_token(OFFICER, key=SIGNING, service=SERVICE)
    second = mint_internal_token(OFFICER, key=SIGNING, service=SERVICE)
    a, b = (jwt.decode(t, options={"verify_signature": False}) for t in (first, second))
    assert a["aud"] == "hulei-internal:school_liaison"
    assert 0 < a["exp"] - a["iat"] <= 30
    assert a["jti"]
    assert a["jti"] != b["jti"]
    assert jwt.get_unverified_header(first)["alg"] == "EdDSA"


def test_another_key_is_refused() -> None:
    token = mint_internal_token(OFFICER, key=Ed25519PrivateKey.generate(), service=SERVICE)
    with pytest.raises(jwt.InvalidTokenError):
        read(token)


def test_a_token_for_another_service_is_refused() -> None:
    token = mint_internal_token(OFFICER, key=SIGNING, service="case_tracking")
    with pytest.raises(jwt.InvalidAudienceError):
        read(token)


def test_tampered_token_is_refused() -> None:
    header, payload, signature = mint_internal_token(OFFICER, key=SIGNING, service=SERVICE).split(
        "."
    )
    forged = jwt.encode(
        claims(principal={"user_id": "x", "role": "admin"}),
        Ed25519PrivateKey.generate(),
        INTERNAL_ALGORITHM,
    )
    forged_payload = forged.split(".")[1]
    with pytest.raises(jwt.InvalidTokenError):
        read(f"{header}.{forged_payload}.{signature}")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(jwt.InvalidTokenError):
        read(f"{header}.{payload}.{flipped}")


# Each defect as claims relative to the moment the token is made (collection is earlier).
DEFECTS: dict[str, Callable[[int], dict[str, object]]] = {
    "expired": lambda now: {"exp": now - 10, "iat": now - 40},
    "an-hour": lambda now: {"iat": now, "exp": now + 3600},
    "31-seconds": lambda now: {"iat": now, "exp": now + INTERNAL_TTL_S + 1},
    "issued-in-the-future": lambda now: {"iat": now + 60, "exp": now + 80},
    "shared-audience": lambda now: {"aud": "hulei-internal"},
    "public-audience": lambda now: {"aud": "hulei-api"},
    "issuer": lambda now: {"iss": "somebody-else"},
    "no-exp": lambda now: {"exp": None},
    "no-iat": lambda now: {"iat": None},
    "no-sub": lambda now: {"sub": None},
    "no-jti": lambda now: {"jti": None},
    "no-principal": lambda now: {"principal": None},
    "bad-principal": lambda now: {"principal": {"user_id": "x", "role": "superuser"}},
}


@pytest.mark.parametrize("defect", list(DEFECTS))
def test_defective_claims_are_refused(defect: str) -> None:
    bad = DEFECTS[defect](int(time.time()))
    token = jwt.encode(claims(**bad), SIGNING, algorithm=INTERNAL_ALGORITHM)
    with pytest.raises(jwt.InvalidTokenError):
        read(token)


def test_a_token_for_exactly_the_longest_lifetime_is_accepted() -> None:
    assert read(jwt.encode(claims(), SIGNING, algorithm=INTERNAL_ALGORITHM)) == OFFICER


def test_unsigned_token_is_refused() -> None:
    with pytest.raises(jwt.InvalidTokenError):
        read(unsigned_token(claims()))


def test_hmac_with_the_public_key_as_secret_is_refused() -> None:
    """Algorithm confusion: the public key is no secret, so HS256 keyed with it forges nothing."""
    public = base64.b64encode(raw_public(VERIFY)).decode()
    with pytest.raises(jwt.InvalidAlgorithmError):
        read(jwt.encode(claims(), public, algorithm="HS256"))


def test_keys_load_from_pem_raw_base64_and_der_base64() -> None:
    signing_b64, verify_b64 = generate_keypair()
    private = load_signing_key(signing_b64)
    public = private.public_key()
    assert raw_public(load_verify_key(verify_b64)) == raw_public(public)
    pem_private = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    pem_public = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    der_public = public.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = mint_internal_token(OFFICER, key=load_signing_key(pem_private), service=SERVICE)
    for text in (verify_b64, pem_public, base64.b64encode(der_public).decode()):
        assert read_internal_token(token, key=load_verify_key(text), service=SERVICE) == OFFICER


@pytest.mark.parametrize(
    "text",
    [
        "not a key at all",
        base64.b64encode(b"sixteen-bytes!!!").decode(),
        X25519PrivateKey.generate()
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode(),
    ],
    ids=["garbage", "wrong-length", "x25519"],
)
def test_unreadable_or_foreign_keys_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"Ed25519|PEM"):
        load_signing_key(text)
    with pytest.raises(ValueError, match=r"Ed25519|PEM"):
        load_verify_key(text)


@pytest.mark.parametrize(
    ("principal", "keys"),
    [
        (OFFICER, ["user:officer-1", "role:police_officer"]),
        (
            Principal(user_id="w", role=Role.social_worker, org_id="org-1"),
            ["user:w", "role:social_worker", "org:org-1"],
        ),
        (Principal(user_id="d", role=Role.dispatcher), ["user:d", "role:dispatcher"]),
        (
            Principal(user_id="l", role=Role.school_safety_lead, school_id="sch-01"),
            ["user:l", "role:school_safety_lead", "school:sch-01"],
        ),
    ],
)
def test_inbox_keys(principal: Principal, keys: list[str]) -> None:
    assert principal.inbox_keys == keys


def test_a_minted_token_verifies_with_a_standard_jwt_library() -> None:
    token = mint_internal_token(OFFICER, key=SIGNING, service=SERVICE)
    decoded = jwt.decode(
        token, VERIFY, algorithms=["EdDSA"], audience="hulei-internal:school_liaison"
    )
    assert decoded["sub"] == OFFICER.user_id


@pytest.mark.parametrize(
    "headers", [{"kid": "other"}, {"crit": ["exp"]}, {"typ": "at+jwt"}], ids=str
)
def test_a_header_other_than_the_gateways_is_refused(headers: dict[str, object]) -> None:
    token = jwt.encode(claims(), SIGNING, algorithm=INTERNAL_ALGORITHM, headers=headers)
    with pytest.raises(jwt.InvalidTokenError):
        read(token)


@pytest.mark.parametrize("garbage", ["", "a.b", "a.b.c.d", "e30.e30.!!", "e30.e30.e"])
def test_malformed_tokens_are_refused(garbage: str) -> None:
    with pytest.raises(jwt.InvalidTokenError):
        read(garbage)
