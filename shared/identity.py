"""Who is calling: roles, the principal, and the internal token the gateway hands to services.

The internal token is signed with Ed25519: only the gateway holds the private key, the services
hold the public key, so reading one service's memory or environment mints nothing. Each token
names the one service it is for (its audience), lives at most 30 s and carries a unique id.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import time
import uuid
from enum import StrEnum

import jwt
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from pydantic import BaseModel, ConfigDict, ValidationError

from shared.contracts.notifications import inboxes_of

INTERNAL_AUDIENCE_PREFIX = "hulei-internal:"
INTERNAL_ISSUER = "hulei-gateway"
INTERNAL_ALGORITHM = "EdDSA"  # pinned on reading: never the token's own "alg"
INTERNAL_TTL_S = 30  # the longest lifetime a service accepts, and what the gateway mints
CLOCK_LEEWAY_S = 5  # skew between the gateway's and a service's clock


class Role(StrEnum):
    teacher = "teacher"
    school_safety_lead = "school_safety_lead"
    police_officer = "police_officer"
    dispatcher = "dispatcher"
    supervisor = "supervisor"
    social_worker = "social_worker"
    auditor = "auditor"
    admin = "admin"
    # Neighbourhood eyes who join school campaigns (legal education, drills): no case access.
    grid_worker = "grid_worker"
    safety_volunteer = "safety_volunteer"


SCHOOL_STAFF = frozenset({Role.teacher, Role.school_safety_lead})
# Roles that see every case and task of the station (they assign and escalate).
STATION_WIDE = frozenset({Role.dispatcher, Role.supervisor, Role.admin})


class Principal(BaseModel):
    """A caller as the services see it. Scope fields say what objects the caller may touch."""

    model_config = ConfigDict(frozen=True)

    user_id: str
    role: Role
    school_id: str | None = None  # school staff: their school
    org_id: str | None = None  # social workers: their social-work organisation
    school_ids: tuple[str, ...] = ()  # police officers: the schools in their beat

    @property
    def inbox_keys(self) -> list[str]:
        """Inbox addresses this caller reads: personal, their organisation, their role desk."""
        return inboxes_of(
            user_id=self.user_id, role=self.role.value, org_id=self.org_id, school_id=self.school_id
        )


def internal_audience(service: str) -> str:
    return f"{INTERNAL_AUDIENCE_PREFIX}{service}"


# The one header the gateway writes and the services accept, byte for byte: nothing in a
# token chooses how it is checked.
_HEADER = b'{"alg":"EdDSA","typ":"JWT"}'
_HEADER_SEGMENT = base64.urlsafe_b64encode(_HEADER).rstrip(b"=").decode()
_SEGMENT = re.compile(r"[A-Za-z0-9_-]*")
_REQUIRED = ("exp", "iat", "iss", "aud", "sub", "jti", "principal")


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64url(segment: str) -> bytes:
    # PyJWT checked each character in Python: a third of a service's cost per request.
    if not _SEGMENT.fullmatch(segment) or len(segment) % 4 == 1:
        raise jwt.DecodeError("not base64url")
    return base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))


def mint_internal_token(principal: Principal, *, key: Ed25519PrivateKey, service: str) -> str:
    """A token that vouches for `principal` to `service` only, for INTERNAL_TTL_S seconds: a
    JWS (RFC 7515 compact form, EdDSA) that any JWT library reads."""
    now = int(time.time())
    claims = {
        "iss": INTERNAL_ISSUER,
        "aud": internal_audience(service),
        "iat": now,
        "exp": now + INTERNAL_TTL_S,
        "jti": uuid.uuid4().hex,
        "sub": principal.user_id,
        "principal": principal.model_dump(mode="json"),
    }
    payload = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = f"{_HEADER_SEGMENT}.{payload}"
    return f"{signing_input}.{_b64url(key.sign(signing_input.encode()))}"


def read_internal_token(token: str, *, key: Ed25519PublicKey, service: str) -> Principal:
    """Raises jwt.InvalidTokenError on any defect: signature, algorithm, expiry, issuer,
    audience (another service's token), a missing id, or a lifetime above INTERNAL_TTL_S."""
    return check_internal_token(token, key=key, service=service)[0]


def check_internal_token(
    token: str, *, key: Ed25519PublicKey, service: str, now: float | None = None
) -> tuple[Principal, int]:
    """`read_internal_token` at `now` (epoch seconds; the clock's), with the token's expiry."""
    parts = token.split(".")
    if len(parts) != 3:
        raise jwt.DecodeError("not a compact JWS")
    header, payload, signature = parts
    if _unb64url(header) != _HEADER:
        raise jwt.InvalidAlgorithmError(f"only {INTERNAL_ALGORITHM} tokens as the gateway mints")
    try:
        key.verify(_unb64url(signature), f"{header}.{payload}".encode())
    except InvalidSignature as exc:
        raise jwt.InvalidSignatureError("signature verification failed") from exc
    try:
        claims = json.loads(_unb64url(payload))
    except ValueError as exc:
        raise jwt.DecodeError("claims are not JSON") from exc
    if not isinstance(claims, dict):
        raise jwt.DecodeError("claims are not an object")
    for name in _REQUIRED:
        if claims.get(name) is None:
            raise jwt.MissingRequiredClaimError(name)
    exp, iat = claims["exp"], claims["iat"]
    if not isinstance(exp, int) or not isinstance(iat, int):
        raise jwt.InvalidTokenError("exp and iat must be integers")
    now = time.time() if now is None else now
    if exp <= now - CLOCK_LEEWAY_S:
        raise jwt.ExpiredSignatureError("internal token has expired")
    if iat > now + CLOCK_LEEWAY_S:
        raise jwt.ImmatureSignatureError("internal token is issued in the future")
    if claims["iss"] != INTERNAL_ISSUER:
        raise jwt.InvalidIssuerError("internal token from another issuer")
    if claims["aud"] != internal_audience(service):
        raise jwt.InvalidAudienceError("internal token for another service")
    if exp - iat > INTERNAL_TTL_S:
        raise jwt.InvalidTokenError(f"internal token lives longer than {INTERNAL_TTL_S} s")
    try:
        return Principal.model_validate(claims["principal"]), exp
    except ValidationError as exc:  # a 401 like any other defect, never a 500
        raise jwt.InvalidTokenError("internal token names no valid principal") from exc


def _key_bytes(text: str, what: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{what} is neither PEM nor base64") from exc


def load_signing_key(text: str) -> Ed25519PrivateKey:
    """An Ed25519 private key from PEM (PKCS#8), or base64 of its 32 raw bytes or its DER."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_private_key(text.encode(), password=None)
        else:
            raw = _key_bytes(text, "signing key")
            if len(raw) == 32:
                return Ed25519PrivateKey.from_private_bytes(raw)
            key = serialization.load_der_private_key(raw, password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a readable Ed25519 private key: {exc}") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ValueError("not an Ed25519 private key")
    return key


def load_verify_key(text: str) -> Ed25519PublicKey:
    """An Ed25519 public key from PEM (SubjectPublicKeyInfo), or base64 of its 32 raw bytes
    or its DER."""
    try:
        if text.lstrip().startswith("-----BEGIN"):
            key = serialization.load_pem_public_key(text.encode())
        else:
            raw = _key_bytes(text, "verify key")
            if len(raw) == 32:
                return Ed25519PublicKey.from_public_bytes(raw)
            key = serialization.load_der_public_key(raw)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"not a readable Ed25519 public key: {exc}") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ValueError("not an Ed25519 public key")
    return key


def raw_public(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def generate_keypair() -> tuple[str, str]:
    """A fresh (signing key, verify key) pair, each as base64 of its 32 raw bytes."""
    private = Ed25519PrivateKey.generate()
    raw = private.private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    public = raw_public(private.public_key())
    return base64.b64encode(raw).decode(), base64.b64encode(public).decode()
