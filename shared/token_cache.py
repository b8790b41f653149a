"""Internal tokens used for a while, not once per call.

Signing a token costs the gateway ~100 µs of CPU and checking it (an Ed25519 verify) a service
~220 µs, on every call. A token is a bearer credential for one principal at one service for
its whole lifetime (30 s) whether it is used once or many times, so the gateway uses each for a
third of that lifetime, and a service remembers the tokens it has checked until they expire:
the same bytes, already verified, are not verified again. Neither widens what a token opens.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from shared.identity import (
    CLOCK_LEEWAY_S,
    INTERNAL_TTL_S,
    Principal,
    check_internal_token,
    mint_internal_token,
)

REUSE_S = INTERNAL_TTL_S / 3  # a reused token still has 20 s to live when it is sent
MAX_ENTRIES = 10_000  # principals (gateway) or tokens (service) remembered; the oldest go


class MintedTokens:
    """The gateway's tokens, by service and principal."""

    def __init__(
        self,
        key: Ed25519PrivateKey,
        *,
        reuse_s: float = REUSE_S,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._key = key
        self._reuse_s = reuse_s
        self._clock = clock
        self._tokens: dict[tuple[str, Principal], tuple[str, float]] = {}

    def token(self, principal: Principal, *, service: str) -> str:
        now = self._clock()
        key = (service, principal)
        hit = self._tokens.get(key)
        if hit is not None and now - hit[1] < self._reuse_s:
            return hit[0]
        token = mint_internal_token(principal, key=self._key, service=service)
        self._tokens.pop(key, None)
        if len(self._tokens) >= MAX_ENTRIES:
            del self._tokens[next(iter(self._tokens))]  # the oldest minted
        self._tokens[key] = (token, now)
        return token


class VerifiedTokens:
    """A service's checked tokens, until they expire (`CLOCK_LEEWAY_S` as on first reading)."""

    def __init__(
        self,
        key: Ed25519PublicKey,
        *,
        service: str,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._key = key
        self._service = service
        self._clock = clock
        self._seen: dict[str, tuple[Principal, int]] = {}

    def principal(self, token: str) -> Principal:
        """The token's principal; jwt.InvalidTokenError as `read_internal_token` raises it."""
        now = self._clock()
        hit = self._seen.get(token)
        if hit is not None and hit[1] > now - CLOCK_LEEWAY_S:
            return hit[0]
        principal, expires = check_internal_token(
            token, key=self._key, service=self._service, now=now
        )
        self._seen.pop(token, None)
        if len(self._seen) >= MAX_ENTRIES:
            del self._seen[next(iter(self._seen))]  # the oldest checked
        self._seen[token] = (principal, expires)
        return principal
