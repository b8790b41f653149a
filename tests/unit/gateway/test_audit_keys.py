"""The audit MAC is keyed: without AUDIT_KEY nobody recomputes it."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pytest

from gateway.audit_keys import AuditKeys

pytestmark = pytest.mark.unit

DOC: dict[str, Any] = {
    "id": "gw:000000000001",
    "chain": "gw",
    "seq": 1,
    "actor": "a",
    "prev_mac": "0" * 64,
}


def test_the_mac_depends_on_the_key_and_on_every_field() -> None:
    keys = AuditKeys.derive("k" * 40)
    mac = keys.entry_mac(DOC)
    assert mac == keys.entry_mac({**DOC, "mac": "ignored"})  # its own MAC is not covered
    assert mac != AuditKeys.derive("l" * 40).entry_mac(DOC)
    for field, value in (("actor", "b"), ("seq", 2), ("chain", "gx"), ("prev_mac", "1" * 64)):
        assert keys.entry_mac({**DOC, field: value}) != mac, field
    canonical = json.dumps(DOC, sort_keys=True, separators=(",", ":"))
    assert mac != hashlib.sha256((DOC["prev_mac"] + canonical).encode()).hexdigest()


def test_entry_and_checkpoint_keys_are_distinct_derivations() -> None:
    keys = AuditKeys.derive("k" * 40)
    assert keys.entry != keys.checkpoint
    assert b"k" * 32 not in (keys.entry, keys.checkpoint)
    assert keys.sign("gw", 1, "m") != AuditKeys.derive("l" * 40).sign("gw", 1, "m")
