"""Public authentication: password and client-credentials grants, bearer JWTs, the caller.

Tokens are HS256 with the algorithm pinned, issuer, audience and expiry required (RFC 8725).
Every request also checks that the account or partner client is still active, so a
deactivated user or a revoked client is locked out at once, not when its token expires.
"""

from __future__ import annotations

import time
import uuid
from contextlib import suppress
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from gateway import store as db
from gateway.settings import Settings
from shared.identity import Principal, Role
from shared.store import Doc

ALGORITHM = "HS256"
CLIENT_PREFIX = "client:"
oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


class Passwords:
    """Argon2id verification that costs the same whether or not the account exists."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._dummy = hasher.hash(uuid.uuid4().hex)

    def verify(self, account: Doc | None, secret: str, *, field: str = "password_hash") -> bool:
        if account is None or not account.get("active", False):
            # Same work for unknown accounts as for known ones: timing does not reveal them.
            with suppress(VerificationError, InvalidHashError):
                self.hasher.verify(self._dummy, secret)
            return False
        try:
            return self.hasher.verify(account[field], secret)
        except (VerificationError, InvalidHashError):
            return False


def principal_of(account: Doc, *, client: bool = False) -> Principal:
    return Principal(
        user_id=(CLIENT_PREFIX if client else "") + account["id"],
        role=Role(account["role"]),
        school_id=account.get("school_id"),
        org_id=account.get("org_id"),
        school_ids=tuple(account.get("school_ids") or ()),
    )


def issue_token(principal: Principal, settings: Settings) -> str:
    now = int(time.time())
    claims = {
        "iss": settings.jwt_issuer,
        "aud": settings.jwt_audience,
        "sub": principal.user_id,
        "iat": now,
        "exp": now + settings.token_ttl_s,
        "jti": uuid.uuid4().hex,
        "role": principal.role.value,
        "school_id": principal.school_id,
        "org_id": principal.org_id,
        "school_ids": list(principal.school_ids),
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def decode_token(token: str, settings: Settings) -> Principal:
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],  # pinned: never trust the token's own "alg"
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub"]},
        )
        return Principal(
            user_id=claims["sub"],
            role=Role(claims["role"]),
            school_id=claims.get("school_id"),
            org_id=claims.get("org_id"),
            school_ids=tuple(claims.get("school_ids") or ()),
        )
    except (jwt.InvalidTokenError, KeyError, ValueError) as exc:
        raise HTTPException(401, "invalid or expired token", headers=UNAUTHORIZED) from exc


async def still_active(request: Request, principal: Principal) -> bool:
    store = request.app.state.store
    client = principal.user_id.startswith(CLIENT_PREFIX)
    if client:
        account = await db.get_client(store, client_id=principal.user_id[len(CLIENT_PREFIX) :])
    else:
        account = await db.get_user(store, username=principal.user_id)
    if account is None or not account.get("active"):
        return False
    # Role and scope in the token must still be the account's: a demoted or moved user's
    # old token does not keep the old powers.
    return principal_of(account, client=client) == principal


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    if not token:
        raise HTTPException(401, "not authenticated", headers=UNAUTHORIZED)
    principal = decode_token(token, request.app.state.settings)
    if not await still_active(request, principal):
        raise HTTPException(401, "account inactive or changed; log in again", headers=UNAUTHORIZED)
    return principal
