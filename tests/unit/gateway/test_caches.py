"""The per-request checks that are cached: the account (briefly) and a verified token."""

from __future__ import annotations

import asyncio
import time

import pytest
from fastapi import HTTPException

from gateway.accounts import AccountCache
from gateway.auth import TokenCache, issue_token
from gateway.settings import Settings
from shared.identity import Principal, Role, generate_keypair
from shared.store import Doc

pytestmark = pytest.mark.unit

SETTINGS = Settings(
    demo_mode=False,
    internal_signing_key=generate_keypair()[0],
    jwt_secret="g" * 40,
    audit_key="a" * 40,
    token_ttl_s=60,
)
TEACHER = Principal(user_id="teacher1", role=Role.teacher, school_id="sch-01")


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class Directory:
    """The accounts as the store holds them, counting the reads."""

    def __init__(self) -> None:
        self.account: Doc = {"id": "teacher1", "active": True, "token_version": 0}
        self.reads = 0

    async def load(self) -> Doc | None:
        self.reads += 1
        return dict(self.account)


async def test_an_account_is_read_once_within_the_ttl_and_again_after() -> None:
    clock, accounts = Clock(), Directory()
    cache = AccountCache(ttl_s=1.0, clock=clock)
    for _ in range(3):
        assert await cache.get("teacher1", accounts.load) == accounts.account
    assert accounts.reads == 1
    clock.now += 1.0
    await cache.get("teacher1", accounts.load)
    assert accounts.reads == 2


async def test_a_changed_account_is_read_again_at_once() -> None:
    accounts = Directory()
    cache = AccountCache(ttl_s=10.0, clock=Clock())
    await cache.get("teacher1", accounts.load)
    accounts.account = {**accounts.account, "active": False, "token_version": 1}
    cache.forget("teacher1")
    assert await cache.get("teacher1", accounts.load) == accounts.account


async def test_a_read_that_started_before_a_change_does_not_fill_the_cache() -> None:
    accounts = Directory()
    cache = AccountCache(ttl_s=10.0, clock=Clock())
    reading, changed = asyncio.Event(), asyncio.Event()

    async def slow_old_read() -> Doc | None:
        old = await accounts.load()
        reading.set()
        await changed.wait()  # the change commits while this read is on its way back
        return old

    read = asyncio.create_task(cache.get("teacher1", slow_old_read))
    await reading.wait()
    accounts.account = {**accounts.account, "token_version": 1}
    cache.forget("teacher1")
    changed.set()
    seen, now = await read, await cache.get("teacher1", accounts.load)
    assert seen == {**accounts.account, "token_version": 0}  # that request saw the old one …
    assert now == accounts.account  # … no request after it does


async def test_ttl_zero_never_caches() -> None:
    accounts = Directory()
    cache = AccountCache(ttl_s=0.0, clock=Clock())
    await cache.get("teacher1", accounts.load)
    await cache.get("teacher1", accounts.load)
    assert accounts.reads == 2


def test_a_cached_token_still_expires() -> None:
    token = issue_token(TEACHER, SETTINGS, version=3)
    clock = Clock(time.time())
    tokens = TokenCache(clock=clock)
    assert tokens.session(token, SETTINGS) == (TEACHER, 3)
    assert tokens.session(token, SETTINGS) == (TEACHER, 3)  # from the cache
    clock.now += SETTINGS.token_ttl_s
    with pytest.raises(HTTPException) as expired:
        tokens.session(token, SETTINGS)
    assert expired.value.status_code == 401


def test_a_bad_token_is_refused_every_time() -> None:
    token = issue_token(TEACHER, SETTINGS, version=0)
    forged = token[:-4] + ("AAAA" if not token.endswith("AAAA") else "BBBB")
    tokens = TokenCache()
    for _ in range(2):
        with pytest.raises(HTTPException) as refused:
            tokens.session(forged, SETTINGS)
        assert refused.value.status_code == 401
