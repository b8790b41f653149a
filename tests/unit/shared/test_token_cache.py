"""Internal tokens used for a while: the gateway's reuse and a service's memory of checked
tokens open nothing a fresh token per call would not."""

from __future__ import annotations

import time
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from shared import token_cache
from shared.identity import (
    CLOCK_LEEWAY_S,
    INTERNAL_TTL_S,
    Principal,
    Role,
    check_internal_token,
    read_internal_token,
)
from shared.token_cache import REUSE_S, MintedTokens, VerifiedTokens

pytestmark = pytest.mark.unit

SIGNING = Ed25519PrivateKey.generate()
OFFICER = Principal(user_id="officer-1", role=Role.police_officer, school_ids=("school-1",))
TEACHER = Principal(user_id="teacher-1", role=Role.teacher, school_id="school-1")


class Clock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_a_token_is_reused_for_the_same_principal_and_service_for_a_third_of_its_life() -> None:
    clock = Clock(1000.0)
    tokens = MintedTokens(SIGNING, clock=clock)
    first = tokens.token(OFFICER, service="case_tracking")
    assert tokens.token(OFFICER, service="case_tracking") == first
    clock.now += REUSE_S - 0.1
    assert tokens.token(OFFICER, service="case_tracking") == first
    clock.now += 0.2
    assert tokens.token(OFFICER, service="case_tracking") != first  # minted afresh


def test_another_service_or_principal_gets_a_token_of_its_own() -> None:
    tokens = MintedTokens(SIGNING)
    mine = tokens.token(OFFICER, service="case_tracking")
    elsewhere = tokens.token(OFFICER, service="patrol")
    hers = tokens.token(TEACHER, service="case_tracking")
    assert len({mine, elsewhere, hers}) == 3
    verify = SIGNING.public_key()
    assert read_internal_token(elsewhere, key=verify, service="patrol") == OFFICER
    assert read_internal_token(hers, key=verify, service="case_tracking") == TEACHER
    with pytest.raises(jwt.InvalidAudienceError):
        read_internal_token(elsewhere, key=verify, service="case_tracking")


def test_a_principal_whose_scope_changed_gets_a_new_token() -> None:
    tokens = MintedTokens(SIGNING)
    before = tokens.token(OFFICER, service="case_tracking")
    moved = OFFICER.model_copy(update={"school_ids": ("school-2",)})
    after = tokens.token(moved, service="case_tracking")
    assert after != before
    verified = read_internal_token(after, key=SIGNING.public_key(), service="case_tracking")
    assert verified.school_ids == ("school-2",)


def test_a_checked_token_is_remembered_until_it_expires_then_refused() -> None:
    token = MintedTokens(SIGNING).token(OFFICER, service="patrol")
    clock = Clock(time.time())
    seen = VerifiedTokens(SIGNING.public_key(), service="patrol", clock=clock)
    assert seen.principal(token) == OFFICER
    clock.now += INTERNAL_TTL_S  # still within the leeway
    assert seen.principal(token) == OFFICER
    clock.now += CLOCK_LEEWAY_S + 1
    with pytest.raises(jwt.ExpiredSignatureError):
        seen.principal(token)  # not from memory: checked again, and expired


def test_a_token_never_checked_or_for_another_service_is_refused_every_time() -> None:
    seen = VerifiedTokens(SIGNING.public_key(), service="patrol")
    other = MintedTokens(SIGNING).token(OFFICER, service="case_tracking")
    forged = MintedTokens(Ed25519PrivateKey.generate()).token(OFFICER, service="patrol")
    for _ in range(2):
        with pytest.raises(jwt.InvalidAudienceError):
            seen.principal(other)
        with pytest.raises(jwt.InvalidSignatureError):
            seen.principal(forged)


def test_a_token_seen_before_is_not_verified_again(monkeypatch: pytest.MonkeyPatch) -> None:
    checks: list[str] = []

    def counted(token: str, **kwargs: Any) -> tuple[Principal, int]:
        checks.append(token)
        return check_internal_token(token, **kwargs)

    monkeypatch.setattr(token_cache, "check_internal_token", counted)
    minted = MintedTokens(SIGNING)
    seen = VerifiedTokens(SIGNING.public_key(), service="patrol")
    for _ in range(5):
        assert seen.principal(minted.token(OFFICER, service="patrol")) == OFFICER
    assert len(checks) == 1
