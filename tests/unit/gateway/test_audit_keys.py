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


def _one_by_one(keys: AuditKeys, docs: list[dict[str, Any]], prev: str) -> list[str]:
    macs = []
    for doc in docs:
        prev = keys.entry_mac({**doc, "prev_mac": prev})
        macs.append(prev)
    return macs


ODD_VALUES: list[Any] = [
    "案件会商 — case conference",  # not ASCII: escaped as json.dumps does
    'a "quoted" \\ back\tslash\n',
    None,
    0,
    -(2**70),
    True,  # equal to 1 but written "true": never taken for a shared 1
    1,
    1.5,
    {"nested": [1, "x", None], "b": False},
    "",
]


def test_a_chained_batch_has_the_macs_of_entries_chained_one_by_one() -> None:
    keys = AuditKeys.derive("k" * 40)
    shared = {"chain": "gw", "actor": "dispatcher1", "purpose": "案件会商", "status": 200}
    docs = [
        {"id": f"gw:{n:012d}", "seq": n, **shared, "child_ref": f"child-{n}", "odd": value}
        for n, value in enumerate(ODD_VALUES, start=1)
    ]
    expected = _one_by_one(keys, docs, "0" * 64)
    batch = [dict(d) for d in docs]
    texts = keys.chain(batch, "0" * 64)
    assert [d["mac"] for d in batch] == expected
    assert [d["prev_mac"] for d in batch] == ["0" * 64, *expected[:-1]]
    # As stored, each verifies as the check verifies it; its text is the entry, MAC included.
    assert all(keys.entry_mac(d) == d["mac"] for d in batch)
    assert [json.loads(t) for t in texts] == batch


def test_a_batch_of_different_shapes_or_of_one_chains_the_same() -> None:
    keys = AuditKeys.derive("k" * 40)
    cases: list[list[dict[str, Any]]] = [
        [{"id": "a", "seq": 1}, {"id": "b", "seq": 2, "extra": "x"}],
        # Equal values of different types (true and 1, 1 and 1.0) are not one shared value.
        [{"id": "a", "n": True, "m": 1}, {"id": "b", "n": 1, "m": 1.0}],
        [{"id": "c", "seq": 3}],
        [{"id": "d", "seq": 4, "mac": "stale"}, {"id": "e", "seq": 5, "mac": "stale"}],
    ]
    for docs in cases:
        batch = [dict(d) for d in docs]
        texts = keys.chain(batch, "1" * 64)
        plain = [{k: v for k, v in d.items() if k != "mac"} for d in docs]
        assert [d["mac"] for d in batch] == _one_by_one(keys, plain, "1" * 64), docs
        assert [json.loads(t) for t in texts] == batch
    assert keys.chain([], "3" * 64) == []
