"""The account check of every request, cached briefly.

Every authenticated request checks that its account is still active and still on the token's
version (gateway/auth.py). Reading the account from the store each time cost about a tenth of
the gateway's CPU per request; the answer is kept for `ttl_s` instead. Every change of an
account in this instance (gateway/admin.py) forgets it at once, so on one gateway a revoked
token stops working immediately, as before. Another replica sees the change when its entry
expires: revocation reaches every replica within `ttl_s` (default 1 s; 0 turns the cache off).
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from gateway.limits import Bounded
from shared.store import Doc

Load = Callable[[], Awaitable[Doc | None]]


class AccountCache:
    def __init__(
        self,
        *,
        ttl_s: float,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ttl = ttl_s
        self._clock = clock
        self._entries = Bounded(max_keys)  # key → (read at, account or None)
        # Bumped by every change: a read that started before a change never fills the cache
        # with what it read (it may be the old account).
        self._generation = 0

    async def get(self, key: str, load: Load) -> Doc | None:
        """The account under `key` ("user:…" / "client:…"), from the cache or `load()`."""
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and now - hit[0] < self._ttl:
            account: Doc | None = hit[1]
            return account
        generation = self._generation
        account = await load()
        if self._ttl > 0 and generation == self._generation:
            self._entries.touch(key, (now, account))
        return account

    def forget(self, key: str) -> None:
        """The account changed (or is about to): its next check reads the store."""
        self._generation += 1
        self._entries.pop(key, None)
