"""Public authentication: password login, bearer JWTs, and the caller's principal."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from contextlib import suppress
from typing import Annotated

import jwt
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from gateway.settings import Settings
from shared.identity import Principal, Role
from shared.store import Doc

ALGORITHM = "HS256"
oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
_UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}


class Passwords:
    """Argon2id verification that costs the same whether or not the account exists."""

    def __init__(self, hasher: PasswordHasher) -> None:
        self.hasher = hasher
        self._dummy = hasher.hash(uuid.uuid4().hex)

    def verify(self, user: Doc | None, password: str) -> bool:
        if user is None or not user.get("active", False):
            # Same work for unknown users as for known ones: timing does not reveal accounts.
            with suppress(VerificationError, InvalidHashError):
                self.hasher.verify(self._dummy, password)
            return False
        try:
            return self.hasher.verify(user["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return False


def principal_of(user: Doc) -> Principal:
    return Principal(
        user_id=user["id"],
        role=Role(user["role"]),
        school_id=user.get("school_id"),
        org_id=user.get("org_id"),
        school_ids=tuple(user.get("school_ids") or ()),
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
    return jwt.encode(claims, settings.jwt_secret, algorithm=ALGORITHM)


def current_principal(request: Request, token: Annotated[str | None, Depends(oauth2)]) -> Principal:
    if not token:
        raise HTTPException(401, "not authenticated", headers=_UNAUTHORIZED)
    settings: Settings = request.app.state.settings
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret,
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
        raise HTTPException(401, "invalid or expired token", headers=_UNAUTHORIZED) from exc


PrincipalDep = Annotated[Principal, Depends(current_principal)]


def require_roles(*roles: Role) -> Callable[[Principal], Principal]:
    """Function-level authorization: the endpoint declares who may call it."""

    def check(principal: PrincipalDep) -> Principal:
        if principal.role not in roles:
            raise HTTPException(403, f"role {principal.role.value} may not do this")
        return principal

    return check


ReporterDep = Annotated[Principal, Depends(require_roles(Role.teacher, Role.school_safety_lead))]
TaskWorkerDep = Annotated[
    Principal, Depends(require_roles(Role.police_officer, Role.social_worker))
]
AdminDep = Annotated[Principal, Depends(require_roles(Role.admin))]
