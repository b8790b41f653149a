"""Public authentication: password and client-credentials grants, bearer JWTs, the caller.

Tokens are HS256 with the algorithm pinned, issuer, audience and expiry required (RFC 8725),
and live no longer than `token_ttl_s` whatever their `exp` says. Each account has a token
version that every change of its standing bumps (deactivation, reactivation, role or scope,
password, secret); a token carries the version it was issued under and every request checks
it, so an old token never comes back to life, not even when the change is undone.
"""

from __future__ import annotations

import asyncio
import functools
import os
import time
import uuid
from collections.abc import Callable
from typing import Annotated, NamedTuple, TypeVar

import jwt
from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError
from fastapi import Depends, HTTPException, Request
from fastapi.security import OAuth2PasswordBearer

from gateway import store
from gateway.accounts import AccountCache
from gateway.limits import Bounded
from gateway.settings import Settings
from shared.identity import Principal, Role
from shared.store import Doc

ALGORITHM = "HS256"
CLIENT_PREFIX = "client:"
oauth2 = OAuth2PasswordBearer(tokenUrl="/v1/auth/token", auto_error=False)
UNAUTHORIZED = {"WWW-Authenticate": "Bearer"}
T = TypeVar("T")


class Passwords:
    """Argon2id hashing and verification, off the event loop and a few at a time.

    Argon2 is meant to be slow (tens of milliseconds of CPU); on the event loop every other
    request would wait behind it. It runs in worker threads instead, at most `workers` at once:
    by default as many as fill the cores, each check already using `parallelism` threads of its
    own (more would only queue inside the CPU and starve the loop). Up to `max_waiting` more
    wait their turn; beyond that the answer is 503 with Retry-After, so a login flood cannot
    queue unbounded work. Verification costs the same whether or not the account exists.
    """

    def __init__(
        self, hasher: PasswordHasher, *, workers: int | None = None, max_waiting: int | None = None
    ) -> None:
        self.hasher = hasher
        workers = workers or max(1, (os.cpu_count() or 1) // hasher.parallelism)
        self._slots = asyncio.Semaphore(workers)
        self._capacity = workers + (16 * workers if max_waiting is None else max_waiting)
        self._in_flight = 0
        self._dummy = _dummy_hash(_params(hasher))

    async def _off_loop(self, work: Callable[[], T]) -> T:
        if self._in_flight >= self._capacity:
            raise HTTPException(
                503, "too many password checks in progress", headers={"Retry-After": "1"}
            )
        self._in_flight += 1
        try:
            async with self._slots:
                job = asyncio.ensure_future(asyncio.to_thread(work))
                try:
                    return await asyncio.shield(job)
                except asyncio.CancelledError:
                    # The client left, but the thread runs on: keep its slot until it ends,
                    # or clients that hang up could run any number of hashes at once.
                    await asyncio.wait([job])
                    raise
        finally:
            self._in_flight -= 1

    async def hash(self, secret: str) -> str:
        return await self._off_loop(lambda: self.hasher.hash(secret))

    async def verify(
        self, account: Doc | None, secret: str, *, field: str = "password_hash"
    ) -> bool:
        usable = account is not None and bool(account.get("active", False))
        # Unknown or inactive: the same work against a dummy hash, so timing reveals nothing.
        stored = str(account.get(field, "")) if account is not None and usable else self._dummy
        return await self._off_loop(lambda: self._check(stored, secret)) and usable

    def _check(self, stored: str, secret: str) -> bool:
        try:
            return self.hasher.verify(stored, secret)
        except (VerificationError, InvalidHashError):
            return False


class _Params(NamedTuple):
    time_cost: int
    memory_cost: int
    parallelism: int
    hash_len: int
    salt_len: int
    type: Type


def _params(hasher: PasswordHasher) -> _Params:
    return _Params(
        hasher.time_cost,
        hasher.memory_cost,
        hasher.parallelism,
        hasher.hash_len,
        hasher.salt_len,
        hasher.type,
    )


# One per process and parameter set: it is a third of a second of CPU, and a process that
# builds several apps (the tests build hundreds) need not pay it for each; any random secret's
# hash serves as the dummy.
@functools.lru_cache(maxsize=4)
def _dummy_hash(params: _Params) -> str:
    return PasswordHasher(**params._asdict()).hash(uuid.uuid4().hex)


def principal_of(account: Doc, *, client: bool = False) -> Principal:
    return Principal(
        user_id=(CLIENT_PREFIX if client else "") + account["id"],
        role=Role(account["role"]),
        school_id=account.get("school_id"),
        org_id=account.get("org_id"),
        school_ids=tuple(account.get("school_ids") or ()),
    )


def version_of(account: Doc) -> int:
    return int(account.get("token_version", 0))


class Session(NamedTuple):
    """What a valid token says: who is calling, under which token version of the account."""

    principal: Principal
    version: int


def issue_token(principal: Principal, settings: Settings, *, version: int) -> str:
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
        "ver": version,
    }
    return jwt.encode(claims, settings.jwt_secret.get_secret_value(), algorithm=ALGORITHM)


def decode_token(token: str, settings: Settings) -> Session:
    return _decode(token, settings)[0]


def _decode(token: str, settings: Settings) -> tuple[Session, int]:
    """The session and its expiry (seconds since the epoch)."""
    try:
        claims = jwt.decode(
            token,
            settings.jwt_secret.get_secret_value(),
            algorithms=[ALGORITHM],  # pinned: never trust the token's own "alg"
            audience=settings.jwt_audience,
            issuer=settings.jwt_issuer,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "ver"]},
        )
        # A token that was made to live longer than we issue them was not made by us (or
        # was made with a leaked key): refuse it rather than honour its own expiry.
        if int(claims["exp"]) - int(claims["iat"]) > settings.token_ttl_s:
            raise ValueError("token lifetime exceeds token_ttl_s")
        principal = Principal(
            user_id=claims["sub"],
            role=Role(claims["role"]),
            school_id=claims.get("school_id"),
            org_id=claims.get("org_id"),
            school_ids=tuple(claims.get("school_ids") or ()),
        )
        version = claims["ver"]
        if type(version) is not int:
            raise ValueError("token version must be an integer")
        return Session(principal, version), int(claims["exp"])
    except (jwt.InvalidTokenError, KeyError, ValueError, TypeError) as exc:
        raise HTTPException(401, "invalid or expired token", headers=UNAUTHORIZED) from exc


class TokenCache:
    """Tokens already verified, so a client's next request does not verify its token again.

    Verifying (signature, claims) cost more CPU than anything else in the check. A token's
    bytes are its identity: the same string needs no second verification, only its expiry is
    looked at again. What the account says (still_active) is checked on every request.
    """

    def __init__(self, *, max_keys: int = 10_000, clock: Callable[[], float] = time.time):
        self._clock = clock
        self._seen = Bounded(max_keys)  # token → (session, exp)

    def session(self, token: str, settings: Settings) -> Session:
        hit: tuple[Session, int] | None = self._seen.get(token)
        if hit is None:
            hit = _decode(token, settings)
        if self._clock() >= hit[1]:  # as PyJWT: valid while now < exp
            self._seen.pop(token, None)
            raise HTTPException(401, "invalid or expired token", headers=UNAUTHORIZED)
        self._seen.touch(token, hit)
        return hit[0]


async def still_active(request: Request, session: Session) -> bool:
    principal = session.principal
    accounts = request.app.state.store
    cache: AccountCache = request.app.state.accounts
    client = principal.user_id.startswith(CLIENT_PREFIX)
    if client:
        client_id = principal.user_id[len(CLIENT_PREFIX) :]
        account = await cache.get(
            principal.user_id, lambda: store.get_client(accounts, client_id=client_id)
        )
    else:
        account = await cache.get(
            principal.user_id, lambda: store.get_user(accounts, username=principal.user_id)
        )
    if account is None or not account.get("active"):
        return False
    # Role and scope must still be the account's, and no change may have happened since the
    # token was issued (a change that was undone again included).
    return (
        principal_of(account, client=client) == principal and version_of(account) == session.version
    )


async def current_principal(
    request: Request, token: Annotated[str | None, Depends(oauth2)]
) -> Principal:
    if not token:
        raise HTTPException(401, "not authenticated", headers=UNAUTHORIZED)
    tokens: TokenCache = request.app.state.tokens
    session = tokens.session(token, request.app.state.settings)
    if not await still_active(request, session):
        raise HTTPException(401, "account inactive or changed; log in again", headers=UNAUTHORIZED)
    return session.principal
